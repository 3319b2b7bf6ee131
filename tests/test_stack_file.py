"""Pulumi.<stack>.yaml edits: atomic, locked, layout-preserving; strict reading of every YAML file."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from dmsmig.config import atomic
from dmsmig.config.stack import PROJECT_DIR, ConfigError, load_stack_config
from dmsmig.config.stack_file import set_task_group_keys

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path):
    for name in ("Pulumi.yaml", "Pulumi.sandbox.yaml", "Pulumi.prod.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    shutil.copy(PROJECT_DIR / "examples" / "Pulumi.many.yaml", tmp_path / "Pulumi.many.yaml")
    return tmp_path


def _boundaries(project: Path, stack: str, source: str) -> list[int] | None:
    config = load_stack_config(stack, project).migration
    group = next(s for s in config.sources if s.name == source).task_groups[0]
    return group.partitions.boundaries


def test_two_processes_writing_the_same_stack_file_lose_no_update(project):
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from dmsmig.config.stack_file import set_task_group_keys
        project, source, base = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
        for i in range(12):
            set_task_group_keys("prod", source, "events", {"partitions": {"boundaries": [base + i, base + 1000]}}, project)
        """
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(project), source, base], cwd=REPO)
        for source, base in (("orders", "100"), ("auth", "5000"))
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert _boundaries(project, "prod", "orders") == [111, 1100]
    assert _boundaries(project, "prod", "auth") == [5011, 6000]
    assert not list(project.glob(".Pulumi.prod.yaml.*.tmp"))


def test_a_failed_write_leaves_the_old_file_whole(project, monkeypatch):
    path = project / "Pulumi.sandbox.yaml"
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        set_task_group_keys("sandbox", "orders", "events", {"partitions": {"boundaries": [5, 9]}}, project)
    assert path.read_bytes() == before
    assert not list(project.glob(".Pulumi.sandbox.yaml.*.tmp"))


def test_layout_document_marker_end_comments_and_line_endings_are_kept(project):
    path = project / "Pulumi.sandbox.yaml"
    # Another house style: 4-space mappings, list dashes not indented, a document marker, CRLF.
    body = yaml.safe_dump(yaml.safe_load(path.read_text()), indent=4, sort_keys=False)
    path.write_bytes(("---\n" + body + "# end of file note\n").replace("\n", "\r\n").encode())
    set_task_group_keys("sandbox", "orders", "events", {"partitions": {"boundaries": [7, 70]}}, project)
    after = path.read_bytes().decode()
    assert after.startswith("---\r\n")
    assert after.rstrip().endswith("# end of file note")
    assert "\n" not in after.replace("\r\n", "")
    assert "\r\n    dms-migration:migration:\r\n" in after
    assert "\r\n        sources:\r\n        - name: orders\r\n" in after
    assert _boundaries(project, "sandbox", "orders") == [7, 70]


def test_a_group_inherited_from_source_defaults_is_set_on_that_source_only(project):
    set_task_group_keys("many", "db002", "events", {"partitions": {"boundaries": [10, 20]}}, project)
    config = load_stack_config("many", project).migration
    assert config.sources[1].task_groups[0].partitions.boundaries == [10, 20]
    assert config.sources[0].task_groups[0].partitions.boundaries is None
    assert config.task_count() == 250 + 2


def test_a_stale_lock_file_never_blocks(project):
    (project / "Pulumi.sandbox.yaml.lock").write_text("left behind by a killed run")
    set_task_group_keys("sandbox", "orders", "events", {"partitions": {"boundaries": [3, 4]}}, project)
    assert _boundaries(project, "sandbox", "orders") == [3, 4]


def test_duplicate_keys_in_a_stack_file_are_refused_with_both_lines(project):
    path = project / "Pulumi.sandbox.yaml"
    text = path.read_text().replace("    service: ordersvc\n", "    service: ordersvc\n    service: paymentsvc\n")
    path.write_text(text)
    lines = text.splitlines()
    first = lines.index("    service: ordersvc") + 1
    with pytest.raises(ConfigError) as caught:
        load_stack_config("sandbox", project)
    assert caught.value.problems == [
        f"Pulumi.sandbox.yaml: key 'service' is set twice, at line {first} and line {first + 1}; keep one"
    ]
    assert yaml.safe_load(text)["config"]["dms-migration:migration"]["service"] == "paymentsvc"  # what PyYAML did


def test_duplicate_keys_in_a_mapping_spec_are_refused_with_both_lines(tmp_path):
    from dmsmig.config.mapping_spec import load_mapping_spec

    (tmp_path / "x.yaml").write_text("keyColumn: Id\nkeyColumn: EventId\n")
    with pytest.raises(ConfigError) as caught:
        load_mapping_spec("x", tmp_path)
    assert caught.value.problems == ["x.yaml: key 'keyColumn' is set twice, at line 1 and line 2; keep one"]


@pytest.mark.parametrize("share", ["alias", "merge"])
def test_writing_through_a_yaml_alias_changes_only_that_source(project, share):
    """Two sources sharing task groups by an anchor: setting one source's partitions must leave the
    other's as they were. A merge key (<<:) is refused by name: sourceDefaults is the way to share."""
    doc = yaml.safe_load((project / "Pulumi.sandbox.yaml").read_text())
    migration = doc["config"]["dms-migration:migration"]
    first = migration["sources"][0]
    groups = yaml.safe_dump(first["taskGroups"], default_flow_style=False)
    first_text = yaml.safe_dump({k: v for k, v in first.items() if k not in ("taskGroups", "name", "databaseName")})
    if share == "alias":
        second = {k: v for k, v in first.items() if k not in ("taskGroups", "name", "databaseName")}
        sources = f"""
          - name: orders
            databaseName: A
            taskGroups: &groups
{textwrap.indent(groups, " " * 14)}
{textwrap.indent(first_text, " " * 12)}
          - name: billing
            databaseName: B
            taskGroups: *groups
{textwrap.indent(yaml.safe_dump(second), " " * 12)}"""
    else:
        sources = f"""
          - &base
            name: orders
            databaseName: A
            taskGroups:
{textwrap.indent(groups, " " * 14)}
{textwrap.indent(first_text, " " * 12)}
          - <<: *base
            name: billing
            databaseName: B"""
    del migration["sources"]
    head = yaml.safe_dump(doc, sort_keys=False).rstrip()
    text = head + "\n" + "    sources:" + textwrap.dedent(sources).replace("\n", "\n    ") + "\n"
    text = text.replace("\n    \n", "\n")
    (project / "Pulumi.sandbox.yaml").write_text(text)
    if share == "merge":
        with pytest.raises(ConfigError, match="merge key"):
            load_stack_config("sandbox", project)
        return
    before = _boundaries(project, "sandbox", "billing")
    set_task_group_keys("sandbox", "orders", "events", {"partitions": {"boundaries": [10, 20]}}, project)
    assert _boundaries(project, "sandbox", "orders") == [10, 20]
    assert _boundaries(project, "sandbox", "billing") == before != [10, 20]
