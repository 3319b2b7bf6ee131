"""The preflight of a rehearsal: the checks of ``python -m dmsmig preflight`` that apply to its local AWS
(instances, table, tasks, connections), and the ones that do not, listed as passed with the reason."""

from __future__ import annotations

import time
from typing import Any

from dmsmig.config.stack import MigrationConfig
from dmsmig.ops import preflight
from dmsmig.ops.outputs import StackOutputs

NOT_LOCAL = (
    ("secrets", "Secrets Manager secrets: a rehearsal reads its own source, no secret is created"),
    ("DMS role", "IAM: the local AWS creates no roles, so the role's policy is checked by `plan`'s policies only"),
    ("VPC endpoints", "no VPC locally"),
    ("assessments", "premigration assessments run only in DMS"),
    ("warm throughput", "the local DynamoDB does not model warm throughput (preflight against AWS checks it)"),
)


def run_local_preflight(clients: Any, outputs: StackOutputs, config: MigrationConfig) -> list[preflight.Check]:
    """The checks that apply to a rehearsal's local AWS (instances, table, tasks, connections), and the
    ones that do not, listed as passed with the reason they were not run."""
    checks = preflight.instance_checks(clients.dms, outputs) if outputs.instance_arns else []
    checks += preflight.table_checks(clients.dynamodb, outputs, config, warm=False)
    checks += preflight.task_checks(clients.dms, outputs)
    if outputs.instance_arns:
        checks += preflight.connection_checks(clients.dms, outputs, timeout=30, poll=0.2, sleep=time.sleep)
    checks += [preflight.Check(name, True, f"not run locally: {why}") for name, why in NOT_LOCAL]
    return checks
