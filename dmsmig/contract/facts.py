"""The fact table: every AWS fact the program depends on, as data, with where AWS states it.

Facts that AWS's API model states (enums, documented lengths) are read from botocore's model
at import time instead of being copied; the rest cite the DMS User Guide page (an archived copy
of its source is the public repository ``awsdocs/aws-dms-user-guide``, ``doc_source/*.md``).
Config validation (:mod:`dmsmig.config.stack`), the builders, the policy pack, the operator commands
and the contract tests all read these names; nothing else spells the values out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dmsmig.contract import model

USER_GUIDE = "https://docs.aws.amazon.com/dms/latest/userguide/"
DYNAMODB_GUIDE = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"


@dataclass(frozen=True)
class Fact:
    """One fact: its value and where AWS states it (a page, or a botocore model shape)."""

    name: str
    value: Any
    source: str
    confirmed: bool = True
    """False where AWS documentation does not state it and the program relies on observed behaviour."""


def _botocore(service: str, where: str) -> str:
    return f"botocore {service} service model: {where}"


FACTS: dict[str, Fact] = {}


def _fact(name: str, value: Any, source: str, confirmed: bool = True) -> Any:
    FACTS[name] = Fact(name, value, source, confirmed)
    return value


# Identifiers ----------------------------------------------------------------------------------
TASK_RESOURCE_IDENTIFIER_MAX = _fact(
    "task-resource-identifier-max",
    model.documented_max_length("dms", "CreateReplicationTask", "ResourceIdentifier"),
    _botocore("dms", "CreateReplicationTaskMessage.ResourceIdentifier"),
)
TASK_IDENTIFIER_MAX = _fact(
    "task-identifier-max",
    model.documented_max_length("dms", "CreateReplicationTask", "ReplicationTaskIdentifier"),
    _botocore("dms", "CreateReplicationTaskMessage.ReplicationTaskIdentifier"),
)
INSTANCE_IDENTIFIER_MAX = _fact(
    "instance-identifier-max",
    model.documented_max_length("dms", "CreateReplicationInstance", "ReplicationInstanceIdentifier"),
    _botocore("dms", "CreateReplicationInstanceMessage.ReplicationInstanceIdentifier"),
)
# ASCII letters, digits and hyphens; starts with a letter; no trailing hyphen; no "--".
DMS_IDENTIFIER_PATTERN = _fact(
    "dms-identifier-pattern",
    r"^[A-Za-z](?:[A-Za-z0-9]|-(?!-))*(?<!-)$",
    _botocore("dms", "CreateReplicationTaskMessage.ResourceIdentifier, CreateEndpointMessage.EndpointIdentifier"),
)


DMS_TAG_KEY_MAX = _fact(
    "dms-tag-key-max", model.documented_range_max("dms", "Tag", "Key"), _botocore("dms", "Tag.Key")
)
DMS_TAG_VALUE_MAX = _fact(
    "dms-tag-value-max", model.documented_range_max("dms", "Tag", "Value"), _botocore("dms", "Tag.Value")
)
DMS_TAG_PATTERN = _fact(
    "dms-tag-pattern", model.documented_pattern("dms", "Tag", "Value"), _botocore("dms", "Tag.Key, Tag.Value")
)
DMS_TAG_RESERVED_PREFIXES = _fact(
    "dms-tag-reserved-prefixes", ("aws:", "dms:"), _botocore("dms", 'Tag.Key, Tag.Value ("can\'t be prefixed")')
)


def tag_problems(key: str, value: str) -> list[str]:
    """Why DMS would refuse the tag ``key=value`` (a Java-syntax pattern, so checked with ``regex``)."""
    import regex

    out = []
    for what, text, limit in (("key", key, DMS_TAG_KEY_MAX), ("value", value, DMS_TAG_VALUE_MAX)):
        if not 1 <= len(text) <= limit:
            out.append(f"tag {key!r}: the {what} has {len(text)} characters; DMS takes 1 to {limit}")
        if not regex.fullmatch(DMS_TAG_PATTERN, text):
            # the value is never echoed: a tag is free text and may hold what must not be printed
            out.append(f"tag {key!r}: the {what} has a character DMS refuses (pattern {DMS_TAG_PATTERN})")
        if text.lower().startswith(DMS_TAG_RESERVED_PREFIXES):
            reserved = ", ".join(DMS_TAG_RESERVED_PREFIXES)
            out.append(f"tag {key!r}: the {what} starts with a reserved prefix ({reserved})")
    return out


DMS_REGIONS = _fact(
    "dms-regions",
    model.service_regions("dms"),
    "botocore endpoints data: partitions[].services.dms.endpoints (the regions DMS has an endpoint in)",
)


def identifier_problem(value: str, limit: int | None) -> str | None:
    """Why ``value`` is not a valid DMS identifier (None when it is)."""
    if limit is not None and len(value) > limit:
        return f"is {len(value)} characters; AWS allows at most {limit}"
    if not re.match(DMS_IDENTIFIER_PATTERN, value):
        return "must be ASCII letters, digits and single hyphens, start with a letter and not end with a hyphen"
    return None


# Enumerations read from the model ---------------------------------------------------------------
MIGRATION_TYPES: tuple[str, ...] = _fact(
    "migration-types", model.enum("dms", "MigrationTypeValue"), _botocore("dms", "MigrationTypeValue")
)
SSL_MODES: tuple[str, ...] = _fact(
    "ssl-modes", model.enum("dms", "DmsSslModeValue"), _botocore("dms", "DmsSslModeValue")
)
START_TYPES: tuple[str, ...] = _fact(
    "start-types", model.enum("dms", "StartReplicationTaskTypeValue"), _botocore("dms", "StartReplicationTaskTypeValue")
)
RELOAD_OPTIONS: tuple[str, ...] = _fact(
    "reload-options", model.enum("dms", "ReloadOptionValue"), _botocore("dms", "ReloadOptionValue")
)
FULL_LOAD_ONLY = "full-load"
CDC_ONLY = "cdc"

# Endpoints ---------------------------------------------------------------------------------------
SSL_SUPPORT: dict[str, tuple[str, ...]] = _fact(
    "ssl-modes-per-engine",
    {
        "mysql": ("none", "verify-ca", "verify-full"),
        "sqlserver": ("none", "require", "verify-full"),
        "postgres": ("none", "require", "verify-ca", "verify-full"),
        "oracle": ("none", "verify-ca"),
    },
    USER_GUIDE
    + "CHAP_Security.SSL.html (support table); "
    + USER_GUIDE
    + "CHAP_Source.Oracle.html#CHAP_Security.SSL.Oracle (verify-ca with an Oracle wallet)",
)
# The strongest supported mode that encrypts; modes that verify need a certificateArn.
SSL_DEFAULT: dict[str, str] = {
    "mysql": "verify-full",
    "sqlserver": "require",
    "postgres": "require",
    "oracle": "verify-ca",
}
SSL_NEEDS_CERTIFICATE = frozenset({"verify-ca", "verify-full"})
ENGINES_WITHOUT_DATABASE_NAME: frozenset[str] = _fact(
    "engines-without-database-name",
    frozenset(e for e in ("mysql",) if e.lower() in model.member_doc("dms", "CreateEndpoint", "DatabaseName").lower()),
    _botocore("dms", "CreateEndpointMessage.DatabaseName ('For a MySQL source or target endpoint, do not specify')"),
)
ENDPOINT_PASSWORD_FORBIDDEN = _fact(
    "endpoint-password-forbidden-characters",
    ";.:+",
    USER_GUIDE + "security_iam_secretsmanager.html ('AWS DMS doesn't allow these characters in passwords')",
)
SECRET_CMK_ACTIONS = _fact(
    "secret-customer-key-actions",
    ("kms:Decrypt", "kms:DescribeKey"),
    USER_GUIDE + "security_iam_secretsmanager.html (access role policy for a secret with its own KMS key)",
)
SECRET_ROLE_PRINCIPAL = _fact(
    "secret-role-regional-principal",
    "dms.{region}.amazonaws.com",
    USER_GUIDE + "security_iam_secretsmanager.html (trust the regional DMS service principal)",
)

# Quotas per replication instance ---------------------------------------------------------------
TASKS_PER_INSTANCE_MAX = _fact(
    "tasks-per-replication-instance", 200, USER_GUIDE + "CHAP_Limits.html (Tasks per replication instance)"
)
ENDPOINTS_PER_INSTANCE_MAX = _fact(
    "endpoints-per-replication-instance", 100, USER_GUIDE + "CHAP_Limits.html (Endpoints per replication instance)"
)

# DynamoDB target -------------------------------------------------------------------------------
DYNAMODB_CONTROL_TABLES = _fact(
    "dynamodb-control-tables",
    ("awsdms_apply_exceptions", "awsdms_full_load_exceptions"),
    USER_GUIDE + "CHAP_Target.DynamoDB.html (IAM role for a DynamoDB target)",
)
DYNAMODB_ROLE_DOCUMENTED_ACTIONS = _fact(
    "dynamodb-role-actions",
    (
        "dynamodb:CreateTable",
        "dynamodb:DeleteItem",
        "dynamodb:DeleteTable",
        "dynamodb:DescribeTable",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ),
    USER_GUIDE + "CHAP_Target.DynamoDB.html (the minimum actions, on the target and the two control tables)",
)
DYNAMODB_ROLE_ACCOUNT_ACTIONS = _fact(
    "dynamodb-role-account-actions", ("dynamodb:ListTables",), USER_GUIDE + "CHAP_Target.DynamoDB.html (Resource '*')"
)
TARGET_TABLE_LIFECYCLE_NOT_NEEDED = _fact(
    "target-table-lifecycle-not-needed",
    ("dynamodb:CreateTable", "dynamodb:DeleteTable"),
    USER_GUIDE + "CHAP_Tasks.CustomizingTasks.TaskSettings.FullLoad.html (TargetTablePrepMode DO_NOTHING: "
    "data and metadata of the target table are not changed), so the role is granted these on the two "
    "control tables only, not on the pre-created target",
)
TARGET_TABLE_PREP_MODES = _fact(
    "target-table-prep-modes",
    ("DO_NOTHING", "TRUNCATE_BEFORE_LOAD", "DROP_AND_CREATE"),
    USER_GUIDE + "CHAP_Tasks.CustomizingTasks.TaskSettings.FullLoad.html",
)

# Task settings ---------------------------------------------------------------------------------
_ERRORS = USER_GUIDE + "CHAP_Tasks.CustomizingTasks.TaskSettings.ErrorHandling.html"
_RECORD = ("IGNORE_RECORD", "LOG_ERROR", "SUSPEND_TABLE", "STOP_TASK")
ERROR_BEHAVIOR_VALUES: dict[str, tuple[str, ...]] = _fact(
    "error-behavior-values",
    {
        "DataErrorPolicy": _RECORD,
        "DataTruncationErrorPolicy": _RECORD,
        "DataErrorEscalationPolicy": ("SUSPEND_TABLE", "STOP_TASK"),
        "EventErrorPolicy": ("IGNORE", "STOP_TASK"),
        "TableErrorPolicy": ("SUSPEND_TABLE", "STOP_TASK"),
        "TableErrorEscalationPolicy": ("STOP_TASK",),
        "ApplyErrorDeletePolicy": _RECORD,
        "ApplyErrorInsertPolicy": (*_RECORD, "INSERT_RECORD"),
        "ApplyErrorUpdatePolicy": (*_RECORD, "UPDATE_RECORD"),
        "ApplyErrorEscalationPolicy": ("LOG_ERROR", "SUSPEND_TABLE", "STOP_TASK"),
    },
    _ERRORS,
)
CDC_ONLY_SECTIONS = _fact(
    "cdc-only-task-settings-sections",
    ("ChangeProcessingTuning", "ChangeProcessingDdlHandlingPolicy"),
    USER_GUIDE + "CHAP_Tasks.CustomizingTasks.TaskSettings.ChangeProcessingTuning.html (changes during CDC)",
)
MAX_FULL_LOAD_SUBTASKS = _fact(
    "max-full-load-subtasks", 49, USER_GUIDE + "CHAP_Tasks.CustomizingTasks.TaskSettings.FullLoad.html"
)
TASK_SETTINGS_EXAMPLE = _fact(
    "task-settings-returned-shape",
    "tests/fixtures/dms_task_settings_example.json",
    USER_GUIDE + "CHAP_Tasks.CustomizingTasks.TaskSettings.html#CHAP_Tasks.CustomizingTasks.TaskSettings.Example",
)

# Task states: which call DMS accepts in which state ------------------------------------------------
_STATUS = USER_GUIDE + "CHAP_Monitoring.html#CHAP_Tasks.Status"
TASK_CALL_STATES: dict[str, frozenset[str]] = _fact(
    "task-call-states",
    {
        # Only for a task never started before (StartReplicationTaskType documentation).
        "start-replication": frozenset({"ready", "failed-move"}),
        "resume-processing": frozenset({"stopped", "failed", "ready", "failed-move"}),
        "reload-target": frozenset({"stopped", "failed", "ready", "failed-move"}),
        "ReloadTables": frozenset({"running"}),
        "ModifyReplicationTask": frozenset({"ready", "stopped", "failed", "failed-move"}),
        "StopReplicationTask": frozenset({"running", "starting"}),
        "DeleteReplicationTask": frozenset({"ready", "stopped", "failed", "failed-move"}),
    },
    _botocore("dms", "StartReplicationTaskMessage.StartReplicationTaskType, ReloadTables, ModifyReplicationTask")
    + "; "
    + _STATUS,
)
FIRST_START_ONLY = "start-replication"
NEEDS_PREVIOUS_RUN = frozenset({"resume-processing", "reload-target"})

# Monitoring ------------------------------------------------------------------------------------
ALARM_PERIOD_STANDARD_MULTIPLE = _fact(
    "alarm-period-standard-resolution",
    60,
    _botocore("cloudwatch", "PutMetricAlarmInput.Period (10, 20, 30 only for high-resolution metrics)"),
)
TASK_METRIC_DIMENSION_IS_RESOURCE_ID = _fact(
    "task-metric-dimension",
    True,
    USER_GUIDE + "CHAP_Monitoring.html (dimension ReplicationTaskIdentifier: the task ARN's last part, "
    "observed; not stated by the page)",
    confirmed=False,
)

# DynamoDB throughput (the load's write side) ----------------------------------------------------
WRITE_UNIT_BYTES = _fact(
    "dynamodb-write-unit-bytes", 1024, DYNAMODB_GUIDE + "provisioned-capacity-mode.html (1 WCU per 1 KB written)"
)
ON_DEMAND_INITIAL_WRITE_UNITS = _fact(
    "dynamodb-on-demand-initial-writes",
    4000,
    DYNAMODB_GUIDE + "warm-throughput.html (a new on-demand table starts at 4,000 writes/s)",
)
ON_DEMAND_INITIAL_READ_UNITS = _fact(
    "dynamodb-on-demand-initial-reads", 12000, DYNAMODB_GUIDE + "warm-throughput.html (12,000 reads/s)"
)
ON_DEMAND_DOUBLING_MINUTES = _fact(
    "dynamodb-on-demand-doubling",
    30,
    DYNAMODB_GUIDE + "warm-throughput.html (on-demand tables can scale to double the previous peak within 30 minutes)",
)
PREWARM_LEAD_HOURS = _fact(
    "dynamodb-prewarm-lead-time",
    24,
    DYNAMODB_GUIDE + "pre-warming-on-demand-capacity-mode.html (start at least 24 hours before the anticipated peak)",
)
WRITE_LATENCY_MS = _fact(
    "dynamodb-write-latency",
    10,
    "https://aws.amazon.com/dynamodb/ ('single-digit millisecond' latency: 10 ms is the upper end, one write "
    "in flight per DMS load thread)",
    confirmed=False,
)
_WARM_SCHEMA = (
    "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/dynamodb/table.go "
    "(warmThroughputSchema, bridged by pulumi-aws: table and GSI warm_throughput"
)
WARM_THROUGHPUT_MIN_READS = _fact(
    "warm-throughput-min-reads", 12000, _WARM_SCHEMA + " read_units_per_second IntAtLeast(12000))"
)
WARM_THROUGHPUT_MIN_WRITES = _fact(
    "warm-throughput-min-writes", 4000, _WARM_SCHEMA + " write_units_per_second IntAtLeast(4000))"
)
GSI_WRITE_PER_ITEM = _fact(
    "gsi-write-per-item",
    "a write to a table item that carries a GSI's key attributes is also written to the index, and consumes "
    "write capacity there; an index that cannot keep up throttles the table's writes",
    DYNAMODB_GUIDE + "GSI.ThroughputConsiderations.html (writes to a GSI)",
)
PARTITION_WRITE_UNITS = _fact(
    "dynamodb-partition-write-units",
    1000,
    DYNAMODB_GUIDE + "bp-partition-key-design.html (a partition serves at most 1,000 WCU)",
)


# DMS Serverless ------------------------------------------------------------------------------------
_SERVERLESS_LIMITS = USER_GUIDE + "CHAP_Serverless.Limitations.html"
_SERVERLESS_COMPONENTS = USER_GUIDE + "CHAP_Serverless.Components.html"
SERVERLESS_CAPACITY_UNITS: tuple[int, ...] = _fact(
    "serverless-capacity-units",
    model.listed_integers("dms", "ComputeConfig", "MaxCapacityUnits", "valid DCU values includes"),
    _botocore("dms", "ComputeConfig.MaxCapacityUnits ('The list of valid DCU values includes ...')"),
)
SERVERLESS_MAX_UNITS_REQUIRED = _fact(
    "serverless-max-capacity-required",
    "only DCU parameter you are required" in model.shape_member_doc("dms", "ComputeConfig", "MaxCapacityUnits"),
    _botocore("dms", "ComputeConfig.MaxCapacityUnits ('the only DCU parameter you are required to specify')"),
)
SERVERLESS_SOURCE_ENGINES: frozenset[str] = _fact(
    "serverless-source-engines",
    frozenset({"sqlserver", "postgres", "mysql", "oracle"}),
    _SERVERLESS_COMPONENTS + " (supported sources: SQL Server, PostgreSQL, MySQL, Oracle; targets include DynamoDB)",
)
SERVERLESS_REQUIRED_VPC_ENDPOINTS: tuple[str, ...] = _fact(
    "serverless-required-vpc-endpoints",
    ("secretsManager", "dynamodb"),
    _SERVERLESS_LIMITS + " ('You must use VPC endpoints to access': S3, Kinesis, Secrets Manager, DynamoDB, ...)",
)
SERVERLESS_NO_VIEWS = _fact("serverless-no-views", True, _SERVERLESS_LIMITS + " ('does not support views')")
SERVERLESS_NO_CUSTOM_CDC_START = _fact(
    "serverless-no-custom-cdc-start",
    True,
    _SERVERLESS_LIMITS + " ('does not support setting custom CDC start points')",
)
SERVERLESS_MODIFIABLE_STATES: frozenset[str] = _fact(
    "serverless-modifiable-states",
    frozenset({"created", "stopped", "failed"}),
    _SERVERLESS_LIMITS + " (modify only in CREATED, STOPPED or FAILED; delete only in STOPPED or FAILED)",
)
SERVERLESS_DELETABLE_STATES: frozenset[str] = frozenset({"stopped", "failed"})
# The provisioning phases between StartReplication and running, in order, as DescribeReplications
# spells them (terraform-provider-aws internal/service/dms/consts.go; the page names the same phases).
SERVERLESS_START_PHASES: tuple[str, ...] = _fact(
    "serverless-start-phases",
    (
        "initializing",
        "preparing_metadata_resources",
        "testing_connection",
        "fetching_metadata",
        "calculating_capacity",
        "provisioning_capacity",
        "replication_starting",
    ),
    _SERVERLESS_COMPONENTS + " (replication states); terraform-provider-aws internal/service/dms/consts.go "
    "(the Status strings)",
)
SERVERLESS_CALL_STATES: dict[str, frozenset[str]] = _fact(
    "serverless-call-states",
    {
        # As for tasks: start-replication only for the first run (StartReplicationType documentation).
        "start-replication": frozenset({"created", "ready"}),
        "resume-processing": frozenset({"stopped", "failed"}),
        "reload-target": frozenset({"stopped", "failed"}),
        "ReloadReplicationTables": frozenset({"running"}),
        "ModifyReplicationConfig": SERVERLESS_MODIFIABLE_STATES,
        "StopReplication": frozenset({"running", *SERVERLESS_START_PHASES}),
        "DeleteReplicationConfig": SERVERLESS_DELETABLE_STATES,
    },
    _botocore("dms", "StartReplicationMessage.StartReplicationType") + "; " + _SERVERLESS_LIMITS,
)
SERVERLESS_METRICS = _fact(
    "serverless-metrics",
    ("CapacityUtilization", "CDCLatencySource", "CDCLatencyTarget", "FullLoadThroughputRowsTarget"),
    _SERVERLESS_COMPONENTS + " (serverless replication metrics; CapacityUtilization at its maximum can fail the "
    "replication)",
)
SERVERLESS_METRIC_DIMENSION = _fact(
    "serverless-metric-dimension",
    "ReplicationConfigIdentifier",
    _SERVERLESS_COMPONENTS + " ('grouped by each serverless replication'; the dimension is not stated: named "
    "after the task and instance dimensions, valued like the task one with the resource identifier)",
    confirmed=False,
)
SERVERLESS_CAPACITY_ALARM_PERCENT = 90
REPLICATION_CONFIG_ARN = _fact(
    "replication-config-arn",
    "arn:{partition}:dms:{region}:{account}:replication-config:{resource-id}",
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsdatabasemigrationservice.html "
    "(resource type ReplicationConfig)",
)
DCU_MEMORY_GIB = _fact("serverless-dcu-memory", 2, _SERVERLESS_COMPONENTS + " ('A DCU is 2GB of RAM')")

# Premigration assessments --------------------------------------------------------------------------
_ASSESSMENTS = USER_GUIDE + "CHAP_Tasks.AssessmentReport.html"
ASSESSMENT_RUN_STATES: dict[str, frozenset[str]] = _fact(
    "assessment-run-states",
    {
        "in-progress": frozenset({"starting", "provisioning", "running", "cancelling", "deleting"}),
        "passed": frozenset({"passed"}),
        "warning": frozenset({"warning"}),
        "failed": frozenset({"failed", "error-provisioning", "error-executing", "invalid state"}),
    },
    _botocore("dms", "ReplicationTaskAssessmentRun.Status"),
)
INDIVIDUAL_ASSESSMENT_FAILING: frozenset[str] = _fact(
    "individual-assessment-failing-states",
    frozenset({"failed", "error", "cancelled"}),
    _botocore("dms", "ReplicationTaskIndividualAssessment.Status")
    + "; "
    + USER_GUIDE
    + "CHAP_Tasks.PremigrationAssessmentRuns.html",
)
ASSESSMENT_ROLE_OBJECT_ACTIONS = _fact(
    "assessment-role-object-actions",
    ("s3:PutObject", "s3:DeleteObject", "s3:GetObject", "s3:PutObjectTagging"),
    _ASSESSMENTS + "#CHAP_Tasks.AssessmentReport.IAM (on arn:aws:s3:::<bucket>/*)",
)
ASSESSMENT_ROLE_BUCKET_ACTIONS = _fact(
    "assessment-role-bucket-actions",
    ("s3:ListBucket", "s3:GetBucketLocation"),
    _ASSESSMENTS + "#CHAP_Tasks.AssessmentReport.IAM (on arn:aws:s3:::<bucket>)",
)
ASSESSMENT_ROLE_PRINCIPAL = _fact(
    "assessment-role-principal", "dms.amazonaws.com", _ASSESSMENTS + "#CHAP_Tasks.AssessmentReport.IAM (trust)"
)
ASSESSMENT_RESULT_FILES = _fact(
    "assessment-result-files",
    "summary.json and <individual-assessment-name>.json under the run's folder",
    USER_GUIDE + "CHAP_Tasks.PremigrationAssessmentRuns.html (viewing the JSON files on Amazon S3)",
)
ASSESSMENT_ENCRYPTION_MODES = _fact(
    "assessment-result-encryption-modes",
    ("SSE_S3", "SSE_KMS"),
    _botocore("dms", "StartReplicationTaskAssessmentRunMessage.ResultEncryptionMode"),
)


def policy_pack_facts() -> dict[str, Any]:
    """The facts the policy pack reads, as JSON data.

    The pack runs in its own virtualenv under ``pulumi preview`` (this package without its
    dependencies, so not botocore), so it reads ``policies/dms_guardrails/aws_facts.json``, generated from this table by
    ``python -m dmsmig contract-facts --write`` and kept equal to it by a test.
    """
    return {
        "_generated_by": "python -m dmsmig contract-facts --write (from dmsmig/contract/facts.py)",
        "sslSupport": {engine: list(modes) for engine, modes in SSL_SUPPORT.items()},
        "sslNeedsCertificate": sorted(SSL_NEEDS_CERTIFICATE),
        "migrationTypes": list(MIGRATION_TYPES),
        "fullLoadOnly": FULL_LOAD_ONLY,
        "targetTablePrepModes": list(TARGET_TABLE_PREP_MODES),
        "loadModel": {
            "write_unit_bytes": WRITE_UNIT_BYTES,
            "write_latency_ms": WRITE_LATENCY_MS,
            "partition_write_units": PARTITION_WRITE_UNITS,
            "on_demand_initial_write_units": ON_DEMAND_INITIAL_WRITE_UNITS,
        },
        "sources": {
            "sslSupport": FACTS["ssl-modes-per-engine"].source,
            "migrationTypes": FACTS["migration-types"].source,
        },
    }


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, tuple | list | frozenset | set):
        return ", ".join(str(v) for v in (sorted(value) if isinstance(value, frozenset | set) else value))
    return str(value)


def markdown_table() -> str:
    """The fact table as Markdown rows: fact, value, where AWS states it."""
    lines = ["| fact | value | where AWS states it |", "|---|---|---|"]
    for fact in FACTS.values():
        where = fact.source if fact.confirmed else f"{fact.source} **(not stated by AWS; see note)**"
        value = _shown(fact.value).replace("|", "\\|")
        lines.append(f"| {fact.name} | {value} | {where} |")
    return "\n".join(lines) + "\n"
