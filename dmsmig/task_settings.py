"""Typed DMS task settings for DynamoDB targets, with seed-000 defaults and layered overrides.

Field names are DMS's own (PascalCase), so a stack's ``taskSettings`` override reads exactly
like the task-settings JSON in the DMS documentation. Unknown keys are rejected: a typo such as
``TargetTablePrepmode`` would otherwise fall back to the DMS default ``DROP_AND_CREATE``.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LogSeverity = Literal[
    "LOGGER_SEVERITY_DEFAULT",
    "LOGGER_SEVERITY_ERROR",
    "LOGGER_SEVERITY_WARNING",
    "LOGGER_SEVERITY_INFO",
    "LOGGER_SEVERITY_DEBUG",
    "LOGGER_SEVERITY_DETAILED_DEBUG",
]
ErrorAction = Literal["LOG_ERROR", "IGNORE_RECORD", "SUSPEND_TABLE", "STOP_TASK", "INSERT_RECORD", "UPDATE_RECORD"]
DEFAULT_LOG_COMPONENTS = (
    "TRANSFORMATION",
    "SOURCE_UNLOAD",
    "TARGET_LOAD",
    "SOURCE_CAPTURE",
    "TARGET_APPLY",
    "TASK_MANAGER",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LogComponent(_Section):
    Id: str
    Severity: LogSeverity = "LOGGER_SEVERITY_DEFAULT"


class LoggingSection(_Section):
    EnableLogging: bool = True
    EnableLogContext: bool = True
    LogComponents: list[LogComponent] = Field(
        default_factory=lambda: [LogComponent(Id=c) for c in DEFAULT_LOG_COMPONENTS]
    )


class FullLoadSettingsSection(_Section):
    TargetTablePrepMode: Literal["DO_NOTHING", "TRUNCATE_BEFORE_LOAD", "DROP_AND_CREATE"] = "DO_NOTHING"
    CommitRate: int = Field(10000, ge=1, le=50000)
    MaxFullLoadSubTasks: int = Field(8, ge=1, le=49)
    TransactionConsistencyTimeout: int = Field(600, ge=0)
    CreatePkAfterFullLoad: bool | None = None
    StopTaskCachedChangesApplied: bool | None = None
    StopTaskCachedChangesNotApplied: bool | None = None


class TargetMetadataSection(_Section):
    SupportLobs: bool = True
    FullLobMode: bool = False
    LimitedSizeLobMode: bool = True
    LobMaxSize: int = Field(32, ge=0, le=400, description="KB; a DynamoDB item holds at most 400 KB.")
    LobChunkSize: int | None = Field(None, ge=1)
    ParallelLoadThreads: int = Field(10, ge=0, le=200)
    ParallelLoadBufferSize: int = Field(100, ge=1, le=1000)


class ErrorBehaviorSection(_Section):
    DataErrorPolicy: ErrorAction = "LOG_ERROR"
    DataErrorEscalationPolicy: ErrorAction = "SUSPEND_TABLE"
    DataErrorEscalationCount: int | None = Field(None, ge=0)
    TableErrorPolicy: ErrorAction = "SUSPEND_TABLE"
    TableErrorEscalationPolicy: ErrorAction = "STOP_TASK"
    TableErrorEscalationCount: int | None = Field(None, ge=0)
    RecoverableErrorCount: int | None = Field(None, ge=-1)
    RecoverableErrorInterval: int | None = Field(None, ge=1)
    ApplyErrorInsertPolicy: ErrorAction = "LOG_ERROR"
    ApplyErrorUpdatePolicy: ErrorAction = "LOG_ERROR"
    ApplyErrorDeletePolicy: ErrorAction = "IGNORE_RECORD"
    ApplyErrorEscalationPolicy: ErrorAction | None = None
    FullLoadIgnoreConflicts: bool = True
    FailOnNoTablesCaptured: bool = True


class ChangeProcessingTuningSection(_Section):
    CommitTimeout: int = Field(1, ge=1)
    BatchApplyMemoryLimit: int = Field(500, ge=1)
    MemoryLimitTotal: int = Field(1024, ge=1)
    MemoryKeepTime: int = Field(60, ge=1)
    StatementCacheSize: int = Field(50, ge=1)
    MinTransactionSize: int | None = Field(None, ge=1)


class StreamBufferSettingsSection(_Section):
    StreamBufferCount: int = Field(3, ge=2)
    StreamBufferSizeInMB: int = Field(8, ge=1)
    CtrlStreamBufferSizeInMB: int = Field(5, ge=1)


class TaskSettings(_Section):
    """The DMS ``ReplicationTaskSettings`` document sent with every task."""

    Logging: LoggingSection = Field(default_factory=LoggingSection)
    FullLoadSettings: FullLoadSettingsSection = Field(default_factory=FullLoadSettingsSection)
    TargetMetadata: TargetMetadataSection = Field(default_factory=TargetMetadataSection)
    ErrorBehavior: ErrorBehaviorSection = Field(default_factory=ErrorBehaviorSection)
    ChangeProcessingTuning: ChangeProcessingTuningSection = Field(default_factory=ChangeProcessingTuningSection)
    StreamBufferSettings: StreamBufferSettingsSection = Field(default_factory=StreamBufferSettingsSection)

    @model_validator(mode="after")
    def _lob_modes_are_exclusive(self) -> TaskSettings:
        meta = self.TargetMetadata
        if meta.FullLobMode and meta.LimitedSizeLobMode:
            raise ValueError(
                "TargetMetadata: FullLobMode and LimitedSizeLobMode cannot both be true; "
                "keep LimitedSizeLobMode with a LobMaxSize for DynamoDB targets"
            )
        if meta.LimitedSizeLobMode and meta.LobMaxSize == 0:
            raise ValueError("TargetMetadata.LobMaxSize: must be above 0 when LimitedSizeLobMode is true")
        return self

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, unset optional fields left out) for the task resource."""
        return json.dumps(self.model_dump(exclude_none=True), sort_keys=True, separators=(",", ":"))


def deep_merge(base: dict, override: dict) -> dict:
    """``base`` with ``override`` applied recursively; lists and scalars are replaced whole."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def settings_with_overrides(*layers: dict[str, Any]) -> TaskSettings:
    """Defaults, then each override layer in order (stack level, then task group)."""
    document = TaskSettings().model_dump(exclude_none=True)
    for layer in layers:
        document = deep_merge(document, layer or {})
    return TaskSettings.model_validate(document)
