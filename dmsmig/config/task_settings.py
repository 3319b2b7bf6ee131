"""Typed DMS task settings for DynamoDB targets, with seed-000 defaults and layered overrides.

Field names are DMS's own (PascalCase), so a stack's ``taskSettings`` override reads exactly
like the task-settings JSON in the DMS documentation. Unknown keys are rejected: a typo such as
``TargetTablePrepmode`` would otherwise fall back to the DMS default ``DROP_AND_CREATE``.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from dmsmig.contract import facts

LogSeverity = Literal[
    "LOGGER_SEVERITY_DEFAULT",
    "LOGGER_SEVERITY_ERROR",
    "LOGGER_SEVERITY_WARNING",
    "LOGGER_SEVERITY_INFO",
    "LOGGER_SEVERITY_DEBUG",
    "LOGGER_SEVERITY_DETAILED_DEBUG",
]
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


# Every section carries every key DMS returns for it (the User Guide's task-settings example, kept
# in tests/fixtures/dms_task_settings_example.json) with DMS's default unless seed 000 chose
# otherwise: a document sent in the shape AWS returns does not show a diff on every refresh.
class LoggingSection(_Section):
    EnableLogging: StrictBool = True
    EnableLogContext: StrictBool = True
    LogComponents: list[LogComponent] = Field(
        default_factory=lambda: [LogComponent(Id=c) for c in DEFAULT_LOG_COMPONENTS]
    )


class FullLoadSettingsSection(_Section):
    TargetTablePrepMode: Literal["DO_NOTHING", "TRUNCATE_BEFORE_LOAD", "DROP_AND_CREATE"] = "DO_NOTHING"
    CreatePkAfterFullLoad: StrictBool = False
    StopTaskCachedChangesApplied: StrictBool = False
    StopTaskCachedChangesNotApplied: StrictBool = False
    MaxFullLoadSubTasks: int = Field(8, ge=1, le=facts.MAX_FULL_LOAD_SUBTASKS)
    TransactionConsistencyTimeout: int = Field(600, ge=0)
    CommitRate: int = Field(10000, ge=1, le=50000)


class TargetMetadataSection(_Section):
    TargetSchema: str = ""
    SupportLobs: StrictBool = True
    FullLobMode: StrictBool = False
    LobChunkSize: int = Field(64, ge=1)
    LimitedSizeLobMode: StrictBool = True
    LobMaxSize: int = Field(32, ge=0, le=400, description="KB; a DynamoDB item holds at most 400 KB.")
    InlineLobMaxSize: int = Field(0, ge=0)
    LoadMaxFileSize: int = Field(0, ge=0)
    ParallelLoadThreads: int = Field(10, ge=0, le=200)
    ParallelLoadBufferSize: int = Field(100, ge=0, le=1000)
    ParallelLoadQueuesPerThread: int = Field(1, ge=1)
    ParallelApplyThreads: int = Field(0, ge=0)
    ParallelApplyBufferSize: int = Field(100, ge=0)
    ParallelApplyQueuesPerThread: int = Field(1, ge=1)
    BatchApplyEnabled: StrictBool = False
    TaskRecoveryTableEnabled: StrictBool = False


class ControlTablesSettingsSection(_Section):
    ControlSchema: str = ""
    HistoryTimeslotInMinutes: int = Field(5, ge=1)
    HistoryTableEnabled: StrictBool = False
    SuspendedTablesTableEnabled: StrictBool = False
    StatusTableEnabled: StrictBool = False


class ErrorBehaviorSection(_Section):
    """Values per key are checked against the documented lists (``facts.ERROR_BEHAVIOR_VALUES``)."""

    DataErrorPolicy: str = "LOG_ERROR"
    DataTruncationErrorPolicy: str = "LOG_ERROR"
    DataErrorEscalationPolicy: str = "SUSPEND_TABLE"
    DataErrorEscalationCount: int = Field(0, ge=0)
    TableErrorPolicy: str = "SUSPEND_TABLE"
    TableErrorEscalationPolicy: str = "STOP_TASK"
    TableErrorEscalationCount: int = Field(0, ge=0)
    RecoverableErrorCount: int = Field(-1, ge=-1)
    RecoverableErrorInterval: int = Field(5, ge=1)
    RecoverableErrorThrottling: StrictBool = True
    RecoverableErrorThrottlingMax: int = Field(1800, ge=1)
    ApplyErrorDeletePolicy: str = "IGNORE_RECORD"
    ApplyErrorInsertPolicy: str = "LOG_ERROR"
    ApplyErrorUpdatePolicy: str = "LOG_ERROR"
    ApplyErrorEscalationPolicy: str = "LOG_ERROR"
    ApplyErrorEscalationCount: int = Field(0, ge=0)
    FullLoadIgnoreConflicts: StrictBool = True
    FailOnNoTablesCaptured: StrictBool = True
    EventErrorPolicy: str | None = None

    @model_validator(mode="after")
    def _documented_values(self) -> ErrorBehaviorSection:
        for key, allowed in facts.ERROR_BEHAVIOR_VALUES.items():
            value = getattr(self, key, None)
            if value is not None and value not in allowed:
                # "@key: ..." lets config errors name the key path (see dmsmig.config).
                raise ValueError(f"@{key}: {value!r} is not allowed here; DMS accepts {', '.join(allowed)}")
        return self


class ChangeProcessingTuningSection(_Section):
    BatchApplyPreserveTransaction: StrictBool = True
    BatchApplyTimeoutMin: int = Field(1, ge=1)
    BatchApplyTimeoutMax: int = Field(30, ge=1)
    BatchApplyMemoryLimit: int = Field(500, ge=1)
    BatchSplitSize: int = Field(0, ge=0)
    MinTransactionSize: int = Field(1000, ge=1)
    CommitTimeout: int = Field(1, ge=1)
    MemoryLimitTotal: int = Field(1024, ge=1)
    MemoryKeepTime: int = Field(60, ge=1)
    StatementCacheSize: int = Field(50, ge=1)


class ChangeProcessingDdlHandlingPolicySection(_Section):
    HandleSourceTableDropped: StrictBool = True
    HandleSourceTableTruncated: StrictBool = True
    HandleSourceTableAltered: StrictBool = True


class StreamBufferSettingsSection(_Section):
    StreamBufferCount: int = Field(3, ge=2)
    StreamBufferSizeInMB: int = Field(8, ge=1)
    CtrlStreamBufferSizeInMB: int = Field(5, ge=1)


class TaskSettings(_Section):
    """The DMS ``ReplicationTaskSettings`` document sent with every task."""

    Logging: LoggingSection = Field(default_factory=LoggingSection)
    FullLoadSettings: FullLoadSettingsSection = Field(default_factory=FullLoadSettingsSection)
    TargetMetadata: TargetMetadataSection = Field(default_factory=TargetMetadataSection)
    ControlTablesSettings: ControlTablesSettingsSection = Field(default_factory=ControlTablesSettingsSection)
    ErrorBehavior: ErrorBehaviorSection = Field(default_factory=ErrorBehaviorSection)
    ChangeProcessingTuning: ChangeProcessingTuningSection = Field(default_factory=ChangeProcessingTuningSection)
    ChangeProcessingDdlHandlingPolicy: ChangeProcessingDdlHandlingPolicySection = Field(
        default_factory=ChangeProcessingDdlHandlingPolicySection
    )
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

    def document(self, migration_type: str = "full-load-and-cdc") -> dict[str, Any]:
        """The settings document for a task of ``migration_type`` (full-load tasks omit CDC-only sections)."""
        exclude = set(facts.CDC_ONLY_SECTIONS) if migration_type == facts.FULL_LOAD_ONLY else set()
        return self.model_dump(exclude_none=True, exclude=exclude)

    def to_json(self, migration_type: str = "full-load-and-cdc") -> str:
        """Canonical JSON (sorted keys, unset optional fields left out) for the task resource."""
        return json.dumps(self.document(migration_type), sort_keys=True, separators=(",", ":"))


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
