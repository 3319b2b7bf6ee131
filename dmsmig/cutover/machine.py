"""The cutover state machine, free of AWS and Pulumi so every transition is unit-tested.

Each step has a gate that prints its evidence. Steps with a side effect (switching reads,
stopping tasks) first ask a probe whether the effect is already in place, so a run killed
between the effect and the state write never applies it twice. State is saved before and after
every step; a re-run continues at the first unfinished step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from dmsmig.config.bounds import parse_bound_problem
from dmsmig.ops.errors import UsageError


class Step(StrEnum):
    PRECONDITIONS = "preconditions"
    QUIESCED = "source-quiesced"
    DRAINED = "cdc-drained"
    VALIDATION = "final-validation"
    SWITCH_READS = "switch-reads"
    MONITOR = "monitor-window"
    FINISH = "finish"


ORDER = list(Step)
EXIT_CODES = {step: 10 + i for i, step in enumerate(ORDER)}  # distinct exit code per failed step
EXIT_LOCKED = 20
EXIT_STATE_MISMATCH = 17
STATE_FORMAT = 2  # 2 adds 'format'; format 1 (no key) reads the same


class Status(StrEnum):
    PENDING = "pending"
    STARTED = "started"
    DONE = "done"
    FAILED = "failed"


@dataclass
class Gate:
    """A gate's verdict and the evidence behind it."""

    ok: bool
    evidence: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class StepRecord:
    status: Status = Status.PENDING
    at: str = ""
    evidence: list[str] = field(default_factory=list)
    reason: str = ""
    effect_applied: bool = False
    data: dict = field(default_factory=dict)
    """What a gate recorded for this attempt (e.g. the sentinel token it wrote, samples while it waited)."""
    started: str = ""
    """When this attempt of the step began (``at`` is when it ended)."""
    by: str = ""
    """Who ran it: the AWS caller identity and user@host."""


@dataclass
class CutoverState:
    """Everything persisted about one cutover run of one stack."""

    stack: str
    fingerprint: str
    steps: dict[str, StepRecord] = field(default_factory=lambda: {s.value: StepRecord() for s in ORDER})
    rolled_back: bool = False
    history: list[str] = field(default_factory=list)
    previous_runs: list[dict] = field(default_factory=list)
    """Earlier runs of this stack (archived by ``--restart``), oldest first."""
    rollbacks: list[dict] = field(default_factory=list)
    """Each rollback of this run: when and by whom."""
    context: str = ""
    """Where the run happened when it was not a deployed stack (a rehearsal's local AWS); empty otherwise."""

    def record(self, step: Step) -> StepRecord:
        return self.steps[step.value]

    def next_step(self) -> Step | None:
        return next((s for s in ORDER if self.record(s).status != Status.DONE), None)

    @property
    def finished(self) -> bool:
        return self.next_step() is None

    def _steps_json(self) -> dict:
        return {k: {**asdict(v), "status": v.status.value} for k, v in self.steps.items()}

    def restarted(self, fingerprint: str) -> CutoverState:
        """A new run for this stack that keeps this one (history, steps, rollback) in ``previous_runs``."""
        archived = {
            "fingerprint": self.fingerprint,
            "rolled_back": self.rolled_back,
            "rollbacks": self.rollbacks,
            "history": self.history,
            "steps": self._steps_json(),
        }
        state = CutoverState(self.stack, fingerprint, previous_runs=[*self.previous_runs, archived])
        state.history.append(f"{_now()} new run; the previous one is archived ({len(state.previous_runs)} in all)")
        return state

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": STATE_FORMAT,
                "stack": self.stack,
                "fingerprint": self.fingerprint,
                "rolled_back": self.rolled_back,
                "history": self.history,
                "previous_runs": self.previous_runs,
                "rollbacks": self.rollbacks,
                "context": self.context,
                "steps": self._steps_json(),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, where: str = "the cutover state") -> CutoverState:
        """The state saved by :meth:`to_json`; a truncated, foreign or newer-format one is a UsageError naming
        ``where`` (the file or the control-table item)."""
        try:
            raw = json.loads(text)
            version = raw.get("format", 1)
            if version > STATE_FORMAT:
                raise UsageError(
                    f"{where} is from a newer dmsmig (state format {version}, this one reads {STATE_FORMAT})",
                    "run the cutover with the dmsmig version that wrote it",
                )
            steps = {k: StepRecord(**{**v, "status": Status(v["status"])}) for k, v in raw["steps"].items()}
            steps = _with_every_step(steps, version, where)
            return cls(
                raw["stack"],
                raw["fingerprint"],
                steps,
                raw.get("rolled_back", False),
                raw.get("history", []),
                raw.get("previous_runs", []),
                raw.get("rollbacks", []),
                raw.get("context", ""),
            )
        except UsageError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
            why = parse_bound_problem(err) or f"{type(err).__name__}: {str(err)[:80]}"
            raise UsageError(
                f"{where} cannot be read as a cutover state ({why}): truncated, edited, or from another tool",
                "restore it from a copy, or move it aside and start a new run with cutover --restart",
            ) from None


def _with_every_step(steps: dict[str, StepRecord], version: int, where: str) -> dict[str, StepRecord]:
    """The steps of a state another version saved, each of today's steps present. A step that version did
    not have is pending when no later step ran yet (the run goes through it); after a later step it
    cannot be placed, and the state is refused with its format named."""
    unknown = sorted(set(steps) - {s.value for s in ORDER})
    if unknown:
        raise UsageError(
            f"{where} has step(s) {', '.join(unknown)} this dmsmig does not know (state format {version})",
            "run the cutover with the dmsmig version that wrote it",
        )
    missing = [s for s in ORDER if s.value not in steps]
    for step in missing:
        later = ORDER[ORDER.index(step) + 1 :]
        if any(steps.get(s.value, StepRecord()).status != Status.PENDING for s in later):
            raise UsageError(
                f"{where} was saved by an earlier dmsmig (state format {version}) without the {step.value} step, "
                "and later steps have run, so that step cannot be placed",
                "finish or roll back that run with the version that wrote it, or start anew: cutover --restart",
            )
    return {s.value: steps.get(s.value, StepRecord()) for s in ORDER}


def fingerprint(document: dict) -> str:
    """Hash of the settings a run depends on; a resume under other settings is refused."""
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class Memo:
    """A gate's notes for the current attempt of its step, and a way to save them at once."""

    data: dict
    checkpoint: Callable[[], None] = lambda: None


class Actions(Protocol):
    """What the machine asks the world. Real: :mod:`dmsmig.cutover.actions`; tests: fakes."""

    def gate(self, step: Step, memo: Memo) -> Gate: ...

    def effect_in_place(self, step: Step) -> bool: ...

    def apply_effect(self, step: Step, state: CutoverState) -> list[str]:
        """Apply ``step``'s change; ``state`` holds what earlier gates recorded (e.g. the sentinel token)."""
        ...


SIDE_EFFECT_STEPS = {Step.SWITCH_READS, Step.FINISH}
EVIDENCE_STEPS = ORDER[: ORDER.index(Step.SWITCH_READS)]
"""Steps whose evidence must be fresh when reads switch."""


def expire_stale_evidence(state: CutoverState, max_age: timedelta, now: datetime) -> list[Step]:
    """Reopen evidence steps finished longer than ``max_age`` ago, while reads have not switched yet.

    A resumed run then checks them again, so reads never switch on hours-old evidence; each
    reopened step starts a new attempt (its notes, such as a sentinel token, are dropped).
    """
    if state.record(Step.SWITCH_READS).status == Status.DONE:
        return []
    reopened = []
    for step in EVIDENCE_STEPS:
        record = state.record(step)
        if record.status == Status.DONE and record.at and now - datetime.fromisoformat(record.at) > max_age:
            state.steps[step.value] = StepRecord()
            state.history.append(f"{now.isoformat(timespec='seconds')} {step} evidence from {record.at} expired")
            reopened.append(step)
    return reopened


@dataclass
class Outcome:
    """How a run ended."""

    ok: bool
    stopped_at: Step | None
    reason: str = ""
    lines: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else EXIT_CODES.get(self.stopped_at, 1) if self.stopped_at else 1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run(
    state: CutoverState,
    actions: Actions,
    save: Callable[[CutoverState], None],
    *,
    dry_run: bool = False,
    retry_command: str = "",
    say: Callable[[str], None] = lambda line: None,
    evidence_max_age: timedelta | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    operator: Callable[[], str] = lambda: "",
) -> Outcome:
    """Advance ``state`` through the remaining steps until one's gate fails or all are done.

    ``dry_run`` evaluates every remaining gate and says what would change, saving nothing and
    applying nothing (later gates may then see the world before earlier effects). ``operator`` names
    who runs it (AWS caller identity and user@host), recorded with each step and in the history.
    """
    lines: list[str] = []
    first_failure: tuple[Step, str] | None = None

    def out(line: str) -> None:
        lines.append(line)
        say(line)

    if state.rolled_back:
        return Outcome(False, None, "this run was rolled back; start a new one with --restart", lines)
    if evidence_max_age is not None and not dry_run:
        for step in expire_stale_evidence(state, evidence_max_age, now()):
            out(f"[{step}] evidence older than {evidence_max_age}: checking it again before reads switch")
    for step in ORDER:
        record = state.record(step)
        if record.status == Status.DONE:
            out(f"[{step}] done earlier ({record.at}); skipped")
            continue
        if not dry_run:
            record.status, record.at = Status.STARTED, _now()
            record.started, record.by = record.at, operator()
            state.history.append(f"{record.at} {step} started" + (f" by {record.by}" if record.by else ""))
            save(state)
        gate = actions.gate(step, Memo(record.data, (lambda: None) if dry_run else (lambda: save(state))))
        for line in gate.evidence:
            out(f"[{step}] {line}")
        if not gate.ok:
            out(f"[{step}] GATE FAILED: {gate.reason}")
            if dry_run:
                out(f"[{step}] (dry run) a real run would stop here")
                first_failure = first_failure or (step, gate.reason)
                continue
            record.status, record.reason, record.evidence = Status.FAILED, gate.reason, gate.evidence
            state.history.append(f"{_now()} {step} failed: {gate.reason}")
            save(state)
            if retry_command:
                out(f"fix the cause, then re-run: {retry_command}")
            return Outcome(False, step, gate.reason, lines)
        if step in SIDE_EFFECT_STEPS:
            if actions.effect_in_place(step):
                out(f"[{step}] already in place; nothing to change")
            elif dry_run:
                out(f"[{step}] (dry run) would apply the change")
            else:
                for line in actions.apply_effect(step, state):
                    out(f"[{step}] {line}")
                record.effect_applied = True
        if not dry_run:
            record.status, record.at, record.evidence, record.reason = Status.DONE, _now(), gate.evidence, ""
            state.history.append(f"{record.at} {step} done")
            save(state)
    if first_failure:
        return Outcome(False, first_failure[0], first_failure[1], lines)
    return Outcome(True, None, "", lines)
