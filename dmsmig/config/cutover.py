"""Stack config: the cutover gates, its sentinel, and premigration assessments."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, StrictBool, field_validator, model_validator

from dmsmig.config.base import (
    _at,
    _Model,
)


class Sentinel(_Model):
    """A marker row written at the source after writes stop; the cutover waits to see it in DynamoDB.

    The gh-ost idea for DMS: it proves the change stream has drained up to that point.
    """

    source: str = Field(description="Name of the source to write it to (a CDC task group's source).")
    insert_sql: str = Field(
        alias="insertSql",
        description="INSERT with a :token parameter (an upper-case UUID, fits a uniqueidentifier), into a "
        "CDC-captured table.",
    )
    delete_sql: str = Field(
        alias="deleteSql",
        description="DELETE of that row by :token; the cutover's finish step runs it (the row lives at the "
        "source from cdc-drained until finish) and deletes its item in DynamoDB.",
    )
    key: dict[str, str] = Field(
        description="DynamoDB key of the resulting item; {token} is replaced, e.g. evt#{token}."
    )
    timeout_seconds: int = Field(300, alias="timeoutSeconds", ge=0, description="How long to wait for it.")

    @field_validator("insert_sql", "delete_sql")
    @classmethod
    def _has_token(cls, value: str) -> str:
        if ":token" not in value:
            raise ValueError("must use the :token parameter so each run's marker is unique")
        return value


class Cutover(_Model):
    """Cutover gates and finish behaviour."""

    cdc_latency_max_seconds: int = Field(
        60, alias="cdcLatencyMaxSeconds", ge=0, description="Preconditions: CDC tasks must be below this latency."
    )
    quiesce_check_sql: str | None = Field(
        None,
        alias="quiesceCheckSql",
        description="Query returning 0 when source writes have stopped; else the operator confirms.",
    )
    samples: int = Field(20, ge=0, description="Rows deep-checked per partition in the final validation.")
    final_validation: Literal["sampled", "full"] = Field(
        "sampled",
        alias="finalValidation",
        description="Final-validation gate: counts and samples, or `full` (every item, as validate --full).",
    )
    monitor_minutes: int = Field(15, alias="monitorMinutes", ge=0, description="Alarms must stay quiet this long.")
    keep_cdc_running: StrictBool = Field(
        True, alias="keepCdcRunning", description="Finish leaves CDC tasks running for fail-back (seed 001)."
    )
    fail_back_window_hours: int = Field(
        72, alias="failBackWindowHours", ge=0, description="Decommission waits this long after the cutover finished."
    )
    sentinel: Sentinel | None = Field(None, description="Marker row proving CDC drained (CDC task groups).")
    evidence_max_age_minutes: int = Field(
        30,
        alias="evidenceMaxAgeMinutes",
        ge=1,
        le=1440,
        description="A resumed run checks the gates before switch-reads again when their evidence is older.",
    )


class Assessments(_Model):
    """DMS premigration assessment runs (preflight --assess) and the private bucket their results land in."""

    enabled: StrictBool = Field(False, description="Create the results bucket and role; preflight --assess runs them.")
    results_expire_days: int = Field(
        90, alias="resultsExpireDays", ge=1, le=3650, description="Days before result files are deleted."
    )
    include_only: list[str] = Field(
        default_factory=list,
        alias="includeOnly",
        description="Run only these individual assessments (API names); empty: all that apply.",
    )
    exclude: list[str] = Field(default_factory=list, description="Individual assessments to skip (API names).")

    @field_validator("include_only", "exclude")
    @classmethod
    def _api_names(cls, value: list[str]) -> list[str]:
        for i, name in enumerate(value):
            if not re.match(r"^[a-z0-9]+(-[a-z0-9]+)*$", name):
                raise _at(f"[{i}]", f"'{name}' is not an assessment API name such as unsupported-data-types-in-source")
        return value

    @model_validator(mode="after")
    def _include_or_exclude(self) -> Assessments:
        if self.include_only and self.exclude:
            raise _at("exclude", "DMS takes includeOnly or exclude, not both; keep one")
        return self
