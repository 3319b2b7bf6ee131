"""The partition planner, the mapping preview and its lints, on real SQLite data."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.config.mapping_spec import load_mapping_spec
from dmsmig.config.partitions import equal_width_boundaries, partition_of, ranges_from_boundaries
from dmsmig.config.stack import PROJECT_DIR, load_stack_config
from dmsmig.model.balance import counts_per_range, max_mean_ratio, quantile_boundaries
from dmsmig.model.mapping_preview import GroupMapping, preview
from dmsmig.ops.source_db import connect
from tests.synthetic import zipf_gapped_ids

runner = CliRunner()


def skewed_keys(n: int, seed: int = 7) -> list[int]:
    return zipf_gapped_ids(n, seed)


@pytest.mark.parametrize("partitions", [2, 4, 8, 16])
def test_planned_boundaries_are_increasing_cover_every_row_and_balance_skewed_keys(partitions):
    keys = skewed_keys(20_000)
    bounds = quantile_boundaries(keys, partitions)
    assert all(a < b for a, b in zip(bounds, bounds[1:]))
    ranges = ranges_from_boundaries(bounds)
    seen = [0] * len(ranges)
    for key in keys:
        seen[partition_of(key, ranges)] += 1  # exactly one partition per row, or it raises
    assert seen == counts_per_range(keys, bounds) and sum(seen) == len(keys)
    planned = max_mean_ratio(seen)
    equal = max_mean_ratio(counts_per_range(keys, equal_width_boundaries(partitions, keys[0], keys[-1])))
    assert planned <= 1.05
    assert equal > 1.4  # equal width really is unbalanced on this data


def test_duplicate_keys_collapse_instead_of_producing_empty_ranges():
    assert quantile_boundaries([1, 1, 1, 1, 2, 2, 2, 2], 4) == [2]
    from dmsmig.ops.planner import _from_positions

    plan = _from_positions("exact", 8, 1, 2, [(1, 3), (2, 5), (2, 7)])  # keys 1,1,1,1,2,2,2,2 at positions
    assert plan.boundaries == [2] and plan.sizes == [4.0, 4.0]


def _source_db(path, keys):
    engine = connect(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE vw_Dynamodbmigration (Id INTEGER PRIMARY KEY, PK TEXT)"))
        conn.execute(
            text("INSERT INTO vw_Dynamodbmigration (Id, PK) VALUES (:id, :pk)"),
            [{"id": k, "pk": f"agg#{k}"} for k in keys],
        )
    return f"sqlite:///{path}"


def _plan_partitions(project, *extra, group="orders/events", env=None):
    return runner.invoke(
        app,
        ["plan-partitions", "--stack", "sandbox", "--group", group, "-n", "4", "--project-dir", str(project), *extra],
        env=env,
    )


@pytest.fixture
def project(tmp_path):
    for name in ("Pulumi.yaml", "Pulumi.sandbox.yaml"):
        shutil.copy(PROJECT_DIR / name, tmp_path / name)
    return tmp_path


def test_plan_partitions_writes_boundaries_and_keeps_the_rest_of_the_file(project, tmp_path):
    url = _source_db(tmp_path / "src.db", skewed_keys(10_000))
    before = (project / "Pulumi.sandbox.yaml").read_text()
    result = _plan_partitions(project, "--database-url", url, "--json", "--compare-equal-width")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rows"] == 10_000 and report["written"] is True
    assert report["maxMeanRatio"] <= 1.05 < report["equalWidthMaxMeanRatio"]
    after = (project / "Pulumi.sandbox.yaml").read_text()
    assert "# Sandbox: one SQL Server source" in after  # comments kept
    group = yaml.safe_load(after)["config"]["dms-migration:migration"]["sources"][0]["taskGroups"][0]
    assert group["partitions"] == {"boundaries": report["boundaries"]}
    assert group["estimate"] == {"rows": 10_000, "averageRowBytes": 1800}
    # everything outside the task group is unchanged
    before_lines, after_lines = before.splitlines(), after.splitlines()
    assert (
        after_lines[: before_lines.index("            partitions:")]
        == before_lines[: before_lines.index("            partitions:")]
    )
    assert load_stack_config("sandbox", project).migration.task_count() == 4


def test_database_errors_never_print_the_url_or_password(project):
    url = "postgresql+psycopg2://dms:S3cret-pw@127.0.0.1:1/ECommerce_Order"
    result = _plan_partitions(project, "--database-url", url)
    assert result.exit_code == 1
    assert "S3cret-pw" not in result.output


def test_plan_partitions_dry_run_writes_nothing(project, tmp_path):
    url = _source_db(tmp_path / "src.db", range(1, 101))
    before = (project / "Pulumi.sandbox.yaml").read_text()
    result = _plan_partitions(project, "--database-url", url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "max/mean rows per partition: 1.000" in result.output
    assert (project / "Pulumi.sandbox.yaml").read_text() == before


def test_plan_partitions_names_missing_database_and_unknown_group(project):
    result = _plan_partitions(project, env={"DMSMIG_SOURCE_URL": ""})
    assert result.exit_code == 2 and "--database-url" in result.output
    result = _plan_partitions(project, group="orders/evnts")
    assert result.exit_code == 2 and "use one of: orders/events" in result.output


ROW = {
    "Id": 1,
    "PK": "agg#1",
    "SK": "evt#2024-01-01",
    "itemtype": "event",
    "Ver": "3",
    "ConvId": "c1",
    "created": "2024-01-01",
    "itemdata": "{}",
    "expiry": "1900000000",
}


def _preview(rows, lob_max_kb=32):
    settings = {"TargetMetadata": {"LobMaxSize": lob_max_kb}}
    mapping = GroupMapping.build(
        load_mapping_spec("order_events"), "sqlserver", partition_key="PK", sort_key="SK", task_settings=settings
    )
    return preview(mapping, rows)


def test_preview_builds_the_item_dms_would_write():
    result = _preview([ROW])
    assert result.findings == []
    item = result.items[0]
    assert "Id" not in item  # excluded
    assert item["PK"] == "agg#1" and str(item["Ver"]) == "3" and str(item["Migrated"]) == "1"


@pytest.mark.parametrize(
    ("rows", "rule"),
    [
        ([ROW, {**ROW, "Id": 2}], "key-collision"),
        ([{k: v for k, v in ROW.items() if k != "ConvId"}], "missing-column"),
        ([{**ROW, "Ver": "three"}], "not-a-number"),
        ([{**ROW, "PK": ""}], "empty-key"),
        ([{**ROW, "itemdata": "x" * 40 * 1024}], "lob-truncated"),
        ([{**ROW, "ConvId": "y" * 401 * 1024}], "item-too-large"),
    ],
)
def test_preview_lints(rows, rule):
    result = _preview(rows)
    assert rule in {f.rule for f in result.errors}, result.findings


def test_preview_mapping_cli_on_a_csv_exits_1_on_errors(tmp_path):
    path = tmp_path / "rows.csv"
    header = list(ROW)
    lines = [
        ",".join(header),
        ",".join(str(ROW[h]) for h in header),
        ",".join(str({**ROW, "Id": 2}[h]) for h in header),
    ]
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app, ["preview-mapping", "--stack", "sandbox", "--group", "orders/events", "--rows", str(path)]
    )
    assert result.exit_code == 1
    assert "key-collision" in result.output and '"PK": "agg#1"' in result.output


def test_preview_mapping_cli_samples_the_source(tmp_path):
    url = _source_db(tmp_path / "src.db", [1, 2])
    result = runner.invoke(
        app, ["preview-mapping", "--stack", "sandbox", "--group", "orders/events", "--database-url", url, "--json"]
    )
    findings = json.loads(result.output)["findings"]
    assert result.exit_code == 1 and "missing-column" in {f["rule"] for f in findings}
    assert any("references ${SK}" in f["message"] for f in findings)


def test_a_csv_saved_by_a_spreadsheet_with_a_bom_reads_as_csv(tmp_path):
    path = tmp_path / "rows.csv"
    header = list(ROW)
    path.write_text(",".join(header) + "\n" + ",".join(str(ROW[h]) for h in header) + "\n", encoding="utf-8-sig")
    result = runner.invoke(
        app, ["preview-mapping", "--stack", "sandbox", "--group", "orders/events", "--rows", str(path), "--json"]
    )
    assert result.exit_code == 0, result.output
    item = json.loads(result.output)["items"][0]
    assert "\\ufeffId" not in item and item["PK"] == "agg#1"
    assert json.loads(result.output)["findings"] == []
