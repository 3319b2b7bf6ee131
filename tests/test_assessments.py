"""Premigration assessments: the stack's results bucket and role, and preflight --assess against the DMS fake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from dmsmig.cli import app
from dmsmig.config.stack import PROJECT_DIR, ConfigError, load_stack_config
from dmsmig.contract import facts
from dmsmig.model import iam_docs
from dmsmig.offline.mock_engine import run_program
from dmsmig.ops import assessments, preflight
from dmsmig.ops import context as ops_context
from dmsmig.rehearsal.dms_emulator import DEFAULT_ASSESSMENTS, EmulatedDms, emulator_for_stack
from tests.conftest import raw_migration, stack_from
from tests.ops_fixtures import REGION, clients_with, create_event_table

runner = CliRunner()
EXAMPLES = PROJECT_DIR / "examples"


@pytest.fixture(scope="module")
def mixed_run():
    return run_program(load_stack_config("mixed", EXAMPLES), stack_name="mixed")


# The results bucket and role ----------------------------------------------------------------------------
def test_enabled_assessments_create_a_private_encrypted_expiring_bucket(mixed_run):
    bucket = mixed_run.of_type("aws:s3/bucket:Bucket")[0]
    assert bucket.inputs["bucket"] == "staging-ordersvc-dmsmig-assess-123456789012"
    block = mixed_run.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0].inputs
    assert all(
        block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    sse = mixed_run.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[0]
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    lifecycle = mixed_run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0]
    assert lifecycle.inputs["rules"][0]["expiration"]["days"] == 30
    policy = json.loads(mixed_run.of_type("aws:s3/bucketPolicy:BucketPolicy")[0].inputs["policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert mixed_run.outputs["assessmentBucket"] == bucket.inputs["bucket"]


def test_the_role_has_exactly_the_documented_s3_actions_on_that_bucket(mixed_run):
    role = next(r for r in mixed_run.of_type("aws:iam/role:Role") if r.inputs["name"].endswith("-dms-assessments"))
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": facts.ASSESSMENT_ROLE_PRINCIPAL}
    policy = json.loads(
        next(p for p in mixed_run.of_type("aws:iam/rolePolicy:RolePolicy") if "assessments" in p.name).inputs["policy"]
    )
    bucket = "staging-ordersvc-dmsmig-assess-123456789012"
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": list(facts.ASSESSMENT_ROLE_OBJECT_ACTIONS),
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
        {"Effect": "Allow", "Action": list(facts.ASSESSMENT_ROLE_BUCKET_ACTIONS), "Resource": f"arn:aws:s3:::{bucket}"},
    ]


def test_no_bucket_without_assessments():
    run = run_program(stack_from(raw_migration("sandbox")), stack_name="sandbox")
    assert run.of_type("aws:s3/bucket:Bucket") == [] and "assessmentBucket" not in run.outputs


def test_the_bucket_requests_are_ones_s3_accepts(mixed_run):
    from dmsmig.contract.check import check_resources

    requests, problems = check_resources(mixed_run.resources)
    assert problems == []
    assert {r.operation for r in requests if r.service == "s3"} == {
        "CreateBucket",
        "PutBucketTagging",
        "PutPublicAccessBlock",
        "PutBucketOwnershipControls",
        "PutBucketEncryption",
        "PutBucketLifecycleConfiguration",
        "PutBucketPolicy",
    }


@pytest.mark.parametrize(
    ("assessments_config", "fragment"),
    [
        (
            {"enabled": True, "includeOnly": ["a"], "exclude": ["b"]},
            "assessments.exclude: DMS takes includeOnly or exclude",
        ),
        (
            {"enabled": True, "exclude": ["Bad Name"]},
            "assessments.exclude[0]: 'Bad Name' is not an assessment API name",
        ),
        ({"enabled": True, "resultsExpireDays": 0}, "assessments.resultsExpireDays"),
    ],
)
def test_assessment_config_is_validated_at_its_key(assessments_config, fragment):
    raw = raw_migration("sandbox")
    raw["assessments"] = assessments_config
    with pytest.raises(ConfigError) as err:
        stack_from(raw)
    assert fragment in str(err.value)


# preflight --assess -------------------------------------------------------------------------------------
@pytest.fixture
def world(monkeypatch, tmp_path, mixed_run):
    """Moto for secrets, IAM and DynamoDB as the mixed stack deploys them; DMS from the fake."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("DMSMIG_RETRY_WAIT", "0")
    with mock_aws():
        fake = emulator_for_stack(mixed_run.outputs)
        clients = clients_with(dms=fake)
        monkeypatch.setattr(ops_context, "make_clients", lambda region, profile, endpoint: clients)
        arn = clients.secrets.create_secret(Name="staging-ordersvc-dms-credentials", SecretString="{}")["ARN"]
        create_event_table(clients.dynamodb, "order-events-staging")
        role = "staging-ordersvc-source-orders-secret-access"
        clients.iam.create_role(
            RoleName=role, AssumeRolePolicyDocument=iam_docs.dms_trust_policy(REGION, regional=True)
        )
        clients.iam.put_role_policy(
            RoleName=role, PolicyName="read", PolicyDocument=iam_docs.secret_read_policy(arn, None)
        )
        # The VPC endpoint checks have their own test; moto cannot make the example's VPC id.
        monkeypatch.setattr(preflight, "vpc_endpoint_checks", lambda ec2, config: [])
        monkeypatch.setattr(assessments, "sleep", lambda seconds: fake.tick())
        outputs = tmp_path / "mixed-outputs.json"
        outputs.write_text(json.dumps(mixed_run.outputs))
        yield fake, outputs


def _preflight(outputs: Path, *extra: str):
    return runner.invoke(
        app,
        [
            "preflight",
            "--stack",
            "mixed",
            "--project-dir",
            str(EXAMPLES),
            "--outputs-file",
            str(outputs),
            "--poll-seconds",
            "0",
            *extra,
        ],
    )


def test_preflight_assess_runs_one_assessment_per_task_and_reports_each_result(world):
    fake, outputs = world
    result = _preflight(outputs, "--assess", "--json")
    assert result.exit_code == 0, result.output
    checks = {c["name"]: c for c in json.loads(result.output)}
    for partition in ("p1", "p2"):
        for name in DEFAULT_ASSESSMENTS:
            check = checks[f"assessment staging-ordersvc-orders-events-{partition} {name}"]
            assert (check["ok"], check["reason"], check["fix"]) == (True, "passed", "")
    serverless = checks["assessment staging-ordersvc-orders-live-p1"]
    assert serverless["reason"].startswith("NOT ASSESSED") and "PremigrationAssessmentSettings" in serverless["reason"]
    requests = [run.request for run in fake.runs.values()]
    assert len(requests) == 2  # one per task, none for the Serverless replications
    assert {r["ResultLocationBucket"] for r in requests} == {"staging-ordersvc-dmsmig-assess-123456789012"}
    assert {r["ServiceAccessRoleArn"] for r in requests} == {
        "arn:aws:iam::123456789012:role/staging-ordersvc-dms-assessments"
    }
    assert {r["ResultEncryptionMode"] for r in requests} == {"SSE_S3"}
    assert sorted(r["ResultLocationFolder"] for r in requests) == [
        "staging-ordersvc-orders-events-p1",
        "staging-ordersvc-orders-events-p2",
    ]


def test_a_failed_assessment_fails_preflight_with_its_fix_and_result_file(world):
    fake, outputs = world
    fake.assessment_results["staging-ordersvc-orders-events-p2"] = {
        "unsupported-data-types-in-source": "passed",
        "table-with-lob-but-without-primary-key-or-unique-constraint": "failed",
    }
    result = _preflight(outputs, "--assess", "--json")
    assert result.exit_code == 1
    failing = [c for c in json.loads(result.output) if not c["ok"]]
    assert [c["name"] for c in failing] == [
        "assessment staging-ordersvc-orders-events-p2 table-with-lob-but-without-primary-key-or-unique-constraint"
    ]
    fix = failing[0]["fix"]
    assert "primary key or unique constraint" in fix
    assert fix.endswith(
        "s3://staging-ordersvc-dmsmig-assess-123456789012/staging-ordersvc-orders-events-p2/"
        "table-with-lob-but-without-primary-key-or-unique-constraint.json"
    )


def test_an_unknown_assessment_still_names_its_result_file(world):
    fake, outputs = world
    fake.assessment_results["staging-ordersvc-orders-events-p1"] = {"sqlserver-check-something-new": "error"}
    result = _preflight(outputs, "--assess", "--json")
    assert result.exit_code == 1
    [failing] = [c for c in json.loads(result.output) if not c["ok"]]
    assert failing["reason"] == "error" and failing["fix"].startswith("details: s3://")


def test_assessment_runs_still_going_at_the_timeout_are_reported(world, monkeypatch):
    fake, outputs = world
    monkeypatch.setattr(assessments, "sleep", lambda seconds: None)  # time does not pass in DMS
    monkeypatch.setattr(assessments.time, "monotonic", iter(range(0, 10**6, 100)).__next__)
    result = _preflight(outputs, "--assess", "--assess-timeout", "1", "--json")
    assert result.exit_code == 1
    failing = [c for c in json.loads(result.output) if not c["ok"]]
    assert {c["reason"] for c in failing} == {"still starting after 1s"}
    assert "raise --assess-timeout" in failing[0]["fix"]


def test_preflight_without_assess_starts_no_run(world):
    fake, outputs = world
    result = _preflight(outputs, "--json")
    assert result.exit_code == 0, result.output
    assert fake.runs == {}


def test_assess_on_a_stack_without_the_bucket_says_how_to_enable_it(world, mixed_run, tmp_path):
    _fake, outputs = world
    document = json.loads(outputs.read_text())
    del document["assessmentBucket"], document["assessmentRoleArn"]
    outputs.write_text(json.dumps(document))
    result = _preflight(outputs, "--assess", "--json")
    assert result.exit_code == 1
    [failing] = [c for c in json.loads(result.output) if not c["ok"]]
    assert failing["name"] == "assessments" and "migration.assessments.enabled: true" in failing["fix"]


def test_run_names_are_unique_per_task_and_time():
    from datetime import UTC, datetime

    from dmsmig.ops.outputs import TaskRef

    ref = TaskRef(taskId="s-t-p1", resourceId="svc-stg-t-p1", arn="arn:t", migrationType="full-load", range={})
    assert (
        assessments.run_name(ref, datetime(2026, 11, 24, 10, 5, 9, tzinfo=UTC)) == "dmsmig-svc-stg-t-p1-20261124100509"
    )


def test_fake_rejects_a_reused_run_name(mixed_run):
    fake: EmulatedDms = emulator_for_stack(mixed_run.outputs)
    task = next(t for t in fake.tasks.values() if "events" in t.identifier)
    request = {
        "ReplicationTaskArn": task.arn,
        "ServiceAccessRoleArn": "arn:aws:iam::1:role/r",
        "ResultLocationBucket": "b",
        "AssessmentRunName": "same",
    }
    fake.start_replication_task_assessment_run(**request)
    with pytest.raises(Exception, match="ResourceAlreadyExistsFault"):
        fake.start_replication_task_assessment_run(**request)


def test_each_poll_describes_all_pending_runs_in_one_call(world):
    fake, outputs = world
    calls = []
    describe = fake.describe_replication_task_assessment_runs

    def counting(**params):
        calls.append(params["Filters"][0]["Values"])
        return describe(**params)

    fake.describe_replication_task_assessment_runs = counting
    assert _preflight(outputs, "--assess", "--json").exit_code == 0
    assert len(calls) == 4 and all(len(values) == 2 for values in calls)  # starting, provisioning, running, passed
