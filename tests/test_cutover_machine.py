"""The cutover state machine as pure logic: transitions, failed gates, kills and resumes."""

from __future__ import annotations

import pytest

from dmsmig.cutover.machine import ORDER, CutoverState, Gate, Status, Step, run


class Killed(Exception):
    """Stands in for the process dying."""


class FakeWorld:
    """Gates that can be made to fail, effects that are counted, and an optional crash point."""

    def __init__(self, failing: set[Step] = frozenset()):
        self.failing = set(failing)
        self.effects: dict[Step, int] = {Step.SWITCH_READS: 0, Step.FINISH: 0}
        self.gates: list[Step] = []
        self.crash_after_effect: Step | None = None

    def gate(self, step: Step, memo=None) -> Gate:
        self.gates.append(step)
        if step in self.failing:
            return Gate(False, [f"{step} evidence"], f"{step} not satisfied")
        return Gate(True, [f"{step} evidence"])

    def effect_in_place(self, step: Step) -> bool:
        return self.effects[step] > 0

    def apply_effect(self, step: Step, state=None) -> list[str]:
        self.effects[step] += 1
        if self.crash_after_effect == step:
            self.crash_after_effect = None
            raise Killed(f"killed right after {step}")
        return [f"applied {step}"]


class Disk:
    """A state store that round-trips through JSON and can die on the n-th save."""

    def __init__(self):
        self.saved: str | None = None
        self.saves = 0
        self.die_on_save: int | None = None

    def save(self, state: CutoverState) -> None:
        self.saves += 1
        self.saved = state.to_json()
        if self.die_on_save == self.saves:
            raise Killed(f"killed after save {self.saves}")

    def load(self) -> CutoverState:
        return CutoverState.from_json(self.saved) if self.saved else CutoverState("sandbox", "fp")


def test_a_clean_run_passes_every_gate_in_order_and_applies_each_effect_once():
    world, disk = FakeWorld(), Disk()
    outcome = run(CutoverState("sandbox", "fp"), world, disk.save)
    assert outcome.ok and outcome.exit_code == 0
    assert world.gates == ORDER
    assert world.effects == {Step.SWITCH_READS: 1, Step.FINISH: 1}
    assert disk.load().finished
    assert all(disk.load().record(s).status == Status.DONE for s in ORDER)


@pytest.mark.parametrize("failing", ORDER)
def test_a_failed_gate_stops_the_run_with_its_reason_and_exit_code(failing):
    world, disk = FakeWorld({failing}), Disk()
    outcome = run(CutoverState("sandbox", "fp"), world, disk.save, retry_command="python -m dmsmig cutover -s sandbox")
    assert not outcome.ok and outcome.stopped_at == failing
    assert outcome.exit_code == 10 + ORDER.index(failing)
    assert outcome.reason == f"{failing} not satisfied"
    assert any("re-run: python -m dmsmig cutover -s sandbox" in line for line in outcome.lines)
    state = disk.load()
    assert state.record(failing).status == Status.FAILED
    assert state.next_step() == failing
    # nothing after the failed step ran, and no effect of a later step happened
    assert world.gates == ORDER[: ORDER.index(failing) + 1]
    later = ORDER[ORDER.index(failing) :]
    assert all(world.effects[s] == 0 for s in world.effects if s in later)


@pytest.mark.parametrize("failing", ORDER)
def test_after_fixing_a_failed_gate_a_rerun_continues_there(failing):
    world, disk = FakeWorld({failing}), Disk()
    run(CutoverState("sandbox", "fp"), world, disk.save)
    world.failing.clear()
    world.gates.clear()
    outcome = run(disk.load(), world, disk.save)
    assert outcome.ok
    assert world.gates == ORDER[ORDER.index(failing) :]
    assert world.effects == {Step.SWITCH_READS: 1, Step.FINISH: 1}


def _saves_until_done(step: Step) -> int:
    # every step saves twice (started, done): the done-save of step i is save 2 * (i + 1)
    return 2 * (ORDER.index(step) + 1)


@pytest.mark.parametrize("step", ORDER)
def test_killed_after_each_step_then_resumed_repeats_no_side_effect(step):
    world, disk = FakeWorld(), Disk()
    disk.die_on_save = _saves_until_done(step)
    with pytest.raises(Killed):
        run(CutoverState("sandbox", "fp"), world, disk.save)
    assert disk.load().record(step).status == Status.DONE
    disk.die_on_save = None
    world.gates.clear()
    outcome = run(disk.load(), world, disk.save)
    assert outcome.ok
    assert world.effects == {Step.SWITCH_READS: 1, Step.FINISH: 1}
    assert world.gates == ORDER[ORDER.index(step) + 1 :]


@pytest.mark.parametrize("step", [Step.SWITCH_READS, Step.FINISH])
def test_killed_between_an_effect_and_its_record_does_not_apply_it_twice(step):
    world, disk = FakeWorld(), Disk()
    world.crash_after_effect = step
    with pytest.raises(Killed):
        run(CutoverState("sandbox", "fp"), world, disk.save)
    assert disk.load().record(step).status == Status.STARTED
    outcome = run(disk.load(), world, disk.save)
    assert outcome.ok
    assert world.effects[step] == 1
    assert any("already in place" in line for line in outcome.lines)


def test_dry_run_shows_every_gate_and_changes_nothing():
    world, disk = FakeWorld({Step.QUIESCED, Step.VALIDATION}), Disk()
    outcome = run(CutoverState("sandbox", "fp"), world, disk.save, dry_run=True)
    assert not outcome.ok and outcome.stopped_at == Step.QUIESCED
    assert world.gates == ORDER  # every gate evaluated, not only up to the first failure
    assert disk.saves == 0 and world.effects == {Step.SWITCH_READS: 0, Step.FINISH: 0}
    assert any("(dry run) would apply the change" in line for line in outcome.lines)


def test_a_rolled_back_run_is_not_resumed():
    state = CutoverState("sandbox", "fp")
    state.rolled_back = True
    outcome = run(state, FakeWorld(), Disk().save)
    assert not outcome.ok and "--restart" in outcome.reason


def test_state_round_trips_through_json():
    world, disk = FakeWorld({Step.MONITOR}), Disk()
    run(CutoverState("sandbox", "fp"), world, disk.save)
    state = disk.load()
    assert CutoverState.from_json(state.to_json()) == state
    assert [h.split(" ", 1)[1] for h in state.history][-2:] == [
        "monitor-window started",
        "monitor-window failed: monitor-window not satisfied",
    ]


def _evidence_done_at(at: str) -> CutoverState:
    state = CutoverState("sandbox", "fp")
    for step in (Step.PRECONDITIONS, Step.QUIESCED, Step.DRAINED, Step.VALIDATION):
        record = state.record(step)
        record.status, record.at = Status.DONE, at
    state.record(Step.DRAINED).data["sentinelToken"] = "old-token"
    return state


def test_a_resumed_run_checks_stale_evidence_again_before_reads_switch():
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    world, disk = FakeWorld(), Disk()
    state = _evidence_done_at("2026-11-24T09:00:00+00:00")  # three hours old
    outcome = run(state, world, disk.save, evidence_max_age=timedelta(minutes=30), now=lambda: now)
    assert outcome.ok
    assert world.gates == ORDER  # every gate again, in order, before the switch
    assert "sentinelToken" not in state.record(Step.DRAINED).data  # a new attempt writes a new marker
    assert any("evidence from 2026-11-24T09:00:00+00:00 expired" in h for h in state.history)


def test_fresh_evidence_is_not_checked_twice():
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    world, disk = FakeWorld(), Disk()
    state = _evidence_done_at("2026-11-24T11:50:00+00:00")
    run(state, world, disk.save, evidence_max_age=timedelta(minutes=30), now=lambda: now)
    assert world.gates == [Step.SWITCH_READS, Step.MONITOR, Step.FINISH]


def test_evidence_is_not_reopened_once_reads_switched():
    from datetime import UTC, datetime, timedelta

    world, disk = FakeWorld(), Disk()
    state = _evidence_done_at("2026-11-24T09:00:00+00:00")
    state.record(Step.SWITCH_READS).status = Status.DONE
    run(state, world, disk.save, evidence_max_age=timedelta(minutes=30), now=lambda: datetime(2026, 11, 25, tzinfo=UTC))
    assert world.gates == [Step.MONITOR, Step.FINISH]
