"""Edit ``Pulumi.<stack>.yaml`` in place, keeping every other key, the order, the comments and the layout.

The same effect as ``pulumi config set --path`` on the structured ``migration`` object, without
the Pulumi CLI. The whole read-modify-write runs under an OS lock on ``Pulumi.<stack>.yaml.lock``
(released by the OS if the process dies), the result is validated before it is written, and it
is written atomically: two writers never lose an update and a crash never leaves a broken file.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

from filelock import FileLock
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from dmsmig.config.atomic import write_atomic
from dmsmig.config.stack import CONFIG_KEY, PROJECT_DIR, ConfigError, config_from_map, project_name
from dmsmig.config.yaml_files import parse_yaml

LOCK_TIMEOUT_SECONDS = 60


def _layout(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as the file already writes them."""
    mapping = offset = None
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for parent, child in zip(lines, lines[1:]):
        if not parent.rstrip().endswith(":"):
            continue
        depth = len(parent) - len(parent.lstrip())
        child_depth = len(child) - len(child.lstrip())
        if child.lstrip().startswith("- ") and offset is None:
            offset = child_depth - depth
        elif child_depth > depth and mapping is None:
            mapping = child_depth - depth
    mapping = mapping or 2
    offset = 2 if offset is None else offset
    return mapping, offset + 2, offset


def _yaml(text: str) -> YAML:
    """A round-trip YAML that writes with the indentation style and document marker ``text`` uses."""
    mapping, sequence, offset = _layout(text)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.width = 120
    yaml.explicit_start = text.lstrip().startswith("---")
    return yaml


def stack_file_lock(path: Path) -> FileLock:
    """The OS lock every writer of ``path`` takes (a stale lock file never blocks: the OS lock died)."""
    return FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_SECONDS)


def _flow(values: list) -> CommentedSeq:
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def set_task_group_keys(
    stack: str, source: str, group: str, updates: dict[str, Any], project_dir: Path = PROJECT_DIR
) -> str:
    """Set keys of one task group (e.g. ``partitions``) and write the file back; returns the new text.

    A group the source inherits from ``sourceDefaults`` is copied into the source first, so the
    update applies to that source only.
    """

    def change(migration: dict, file_name: str) -> None:
        grp = _group_node(migration, source, group, file_name)
        for name, value in updates.items():
            if isinstance(value, dict):
                node = CommentedMap()
                for k, v in value.items():
                    node[k] = _flow(v) if isinstance(v, list) else v
                grp[name] = node
            else:
                grp[name] = value

    return _edit(stack, project_dir, change)


def set_migration_value(stack: str, path: str, value: Any, project_dir: Path = PROJECT_DIR) -> str:
    """Set ``migration.<path>`` (dotted, e.g. ``readSwitch.readsFrom``), creating missing maps, as
    ``pulumi config set --path`` does; returns the new text."""

    def change(migration: dict, _file_name: str) -> None:
        node = migration
        *parents, last = path.split(".")
        for name in parents:
            if not isinstance(node.get(name), dict):
                node[name] = CommentedMap()
            node = _own(node, name)
        node[last] = value

    return _edit(stack, project_dir, change)


def _edit(stack: str, project_dir: Path, change: Any) -> str:
    """Read ``Pulumi.<stack>.yaml`` under its lock, apply ``change(migration, file name)``, validate the
    whole result and write it atomically; returns the new text."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    key = f"{project_name(project_dir)}:{CONFIG_KEY}"
    with stack_file_lock(path):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError([f"{path.name}: not UTF-8 text"], path.name) from None
        parse_yaml(text, path.name)  # duplicate keys and syntax errors are refused before editing
        newline = "\r\n" if "\r\n" in text else "\n"
        yaml = _yaml(text)
        try:
            document = yaml.load(text)
        except YAMLError as err:
            raise ConfigError([f"{path.name}: not valid YAML ({str(err).splitlines()[0]})"], path.name) from None
        migration = (document.get("config") or {}).get(key) if isinstance(document, dict) else None
        if not isinstance(migration, dict):
            raise ConfigError([f"{path.name}: no '{key}' object to edit"], path.name)
        change(migration, path.name)
        buffer = io.StringIO()
        yaml.dump(document, buffer)
        new_text = buffer.getvalue()
        # Validate the edited file as a whole before it replaces the old one.
        config_from_map(parse_yaml(new_text, path.name)["config"], project_name(project_dir), path.name)
        if newline != "\n":
            new_text = new_text.replace("\r\n", "\n").replace("\n", newline)
        write_atomic(path, new_text)
    return new_text


def _group_node(migration: dict, source: str, group: str, file_name: str) -> dict:
    sources = migration.get("sources") or []
    src = next((s for s in sources if isinstance(s, dict) and s.get("name") == source), None)
    if src is None:
        raise ConfigError([f"{CONFIG_KEY}.sources: no source named '{source}'"], file_name)
    if "taskGroups" not in src:
        inherited = (migration.get("sourceDefaults") or {}).get("taskGroups")
        if not inherited:
            raise ConfigError([f"{CONFIG_KEY}.sources[{source}].taskGroups: none declared or inherited"], file_name)
        src["taskGroups"] = copy.deepcopy(inherited)
    groups = _own(src, "taskGroups")
    index = next((i for i, g in enumerate(groups) if isinstance(g, dict) and g.get("name") == group), None)
    if index is None:
        raise ConfigError([f"{CONFIG_KEY}.sources[{source}].taskGroups: no group named '{group}'"], file_name)
    return _own(groups, index)


def _shared(parent: Any, key: Any) -> bool:
    """True when ``parent[key]`` may also be somewhere else: an anchored node (``&x``, aliased as ``*x``),
    or a key a mapping takes from a merge (``<<: *x``)."""
    node = parent[key]
    anchor = getattr(node, "anchor", None)
    if anchor is not None and anchor.value is not None:
        return True
    if isinstance(parent, CommentedMap) and getattr(parent, "merge", None):
        return all(own != key for own, _ in parent.non_merged_items())  # the keys the mapping itself writes
    return False


def _own(parent: Any, key: Any) -> Any:
    """``parent[key]``, first replaced by a private copy when it is shared, so an edit changes only this
    place (another source aliasing the same node keeps its settings)."""
    if _shared(parent, key):
        private = copy.deepcopy(parent[key])
        if getattr(private, "anchor", None) is not None:
            private.anchor.value = None
        parent[key] = private
    return parent[key]
