"""The cutover and the rollback as one unit each: lock, state, machine, record. The CLI and the rehearsal call these."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dmsmig.cutover import machine
from dmsmig.cutover.driver import READS_FROM, StackDriver
from dmsmig.cutover.machine import EXIT_STATE_MISMATCH, CutoverState
from dmsmig.cutover.store import StateStore
from dmsmig.ops.aws import operator_description
from dmsmig.ops.context import OpsContext
from dmsmig.ops.errors import OpsError


class StateMismatch(OpsError):
    """The recorded run was made under other settings or tasks."""

    exit_code = EXIT_STATE_MISMATCH


def fingerprint_of(ops: OpsContext) -> str:
    """What a run depends on: the migration config without the read switch, and the task ARNs."""
    document = ops.config.migration.model_dump(mode="json", by_alias=True, exclude={"read_switch"})
    return machine.fingerprint({"config": document, "tasks": [t.arn for _g, t in ops.outputs.tasks()]})


def run_cutover(
    ops: OpsContext,
    store: StateStore,
    actions: machine.Actions,
    stack: str,
    *,
    dry_run: bool = False,
    restart: bool = False,
    force: bool = False,
    retry: str = "",
    takeover: str | None = None,
    say: Callable[[str], None] = lambda line: None,
    context: str = "",
) -> machine.Outcome:
    """Load or start the run, then advance it under the cutover lock (a dry run: no lock, nothing saved).

    ``context`` says where the stack lives when it is not a deployed one (the driver's), recorded for good."""
    who = operator_description(ops.clients)
    fingerprint = fingerprint_of(ops)
    if dry_run:  # reads only: no lock, no state written, no sentinel row, no waiting
        preview = store.load() or CutoverState(stack, fingerprint)
        return machine.run(preview, actions, lambda s: None, dry_run=True, say=say)
    max_age = timedelta(minutes=ops.config.migration.cutover.evidence_max_age_minutes)
    with store.lock(takeover=takeover):
        state = store.load()
        if state is None:
            state = CutoverState(stack, fingerprint)
        elif restart and state.rolled_back:
            state = state.restarted(fingerprint)
        elif state.fingerprint != fingerprint and not force:
            raise StateMismatch(
                "the stack's migration config or tasks changed since this cutover started",
                "review them, then re-run with --force (or --restart after a rollback)",
            )
        if context and not state.context:  # the record says so for good: e.g. a rehearsal is no real evidence
            state.context = context
        return machine.run(
            state, actions, store.save, retry_command=retry, say=say, evidence_max_age=max_age, operator=lambda: who
        )


def decommission_refusal(
    state: machine.CutoverState | None, window_hours: float, now: datetime, where: str
) -> tuple[str, str] | None:
    """Why decommissioning now is refused (message, fix), or None: no finished cutover, a rolled-back one,
    or the fail-back window after the finish still open. ``where`` names the state, for a finish time that
    is not a time."""
    if state is None or not state.finished or state.rolled_back:
        return "no finished cutover recorded for this stack", "finish the cutover, or pass --force"
    at = state.record(machine.Step.FINISH).at
    try:
        finished = datetime.fromisoformat(at)
    except (TypeError, ValueError):
        return (
            f"{where} records the cutover's finish at {at!r}, which is not a time",
            "restore the state from a copy, or pass --force to decommission without the fail-back window check",
        )
    if finished.tzinfo is None:
        finished = finished.replace(tzinfo=UTC)
    opens = finished + timedelta(hours=window_hours)
    if now < opens:
        return (
            f"the fail-back window ({window_hours:g} h after the cutover finished) is open until "
            f"{opens.isoformat(timespec='minutes')}",
            "wait, or pass --force to decommission now",
        )
    return None


def roll_back(
    ops: OpsContext,
    store: StateStore,
    driver: StackDriver,
    targets: list[str],
    confirm: Callable[[], None] = lambda: None,
    say: Callable[[str], None] = lambda line: None,
) -> bool:
    """Switch reads back to the source (one resource) and record the rollback; False when they already were."""
    with store.lock():
        changed = driver.get(READS_FROM) != "source"
        if changed:
            confirm()
            for line in driver.set_and_apply(READS_FROM, "source", only=targets):
                say(line)
        state = store.load()
        if state is not None:
            who, at = operator_description(ops.clients), machine._now()
            state.rolled_back = True
            state.rollbacks.append({"at": at, "by": who, "readsWereFrom": "dynamodb" if changed else "source"})
            state.history.append(f"{at} rolled back by {who}")
            store.save(state)
    return changed
