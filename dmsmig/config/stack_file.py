"""Edit ``Pulumi.<stack>.yaml`` in place, keeping every other key, the order and the comments.

The same effect as ``pulumi config set --path`` on the structured ``migration`` object, without
the Pulumi CLI; the result is validated before it is written, so a bad edit never lands.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dmsmig.config.stack import CONFIG_KEY, PROJECT_DIR, ConfigError, config_from_map, project_name


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 120
    return yaml


def _flow(values: list) -> CommentedSeq:
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def set_task_group_keys(
    stack: str, source: str, group: str, updates: dict[str, Any], project_dir: Path = PROJECT_DIR
) -> str:
    """Set keys of one task group (e.g. ``partitions``) and write the file back; returns the new text."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    yaml = _yaml()
    document = yaml.load(path.read_text())
    key = f"{project_name(project_dir)}:{CONFIG_KEY}"
    migration = document["config"][key]
    src = next((s for s in migration["sources"] if s["name"] == source), None)
    if src is None:
        raise ConfigError([f"{CONFIG_KEY}.sources: no source named '{source}'"], path.name)
    grp = next((g for g in src["taskGroups"] if g["name"] == group), None)
    if grp is None:
        raise ConfigError([f"{CONFIG_KEY}.sources[{source}].taskGroups: no group named '{group}'"], path.name)
    for name, value in updates.items():
        if isinstance(value, dict):
            node = CommentedMap()
            for k, v in value.items():
                node[k] = _flow(v) if isinstance(v, list) else v
            grp[name] = node
        else:
            grp[name] = value
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    new_text = buffer.getvalue()
    # Validate the edited file as a whole before it replaces the old one.
    plain = YAML(typ="safe").load(new_text)["config"]
    config_from_map(plain, project_name(project_dir), path.name)
    path.write_text(new_text)
    return new_text
