"""The read switch through the real Automation-API driver, against a fake Pulumi stack: it changes one
resource (a targeted update) and refuses, applying nothing, when a preview shows anything else pending."""

from __future__ import annotations

import pytest
from pulumi import automation as auto
from pulumi.automation.events import EngineEvent, OpType, ResourcePreEvent, StepEventMetadata

from dmsmig.cutover.driver import READS_FROM, AutomationDriver
from dmsmig.ops.errors import OpsError

PARAM = (
    "urn:pulumi:sandbox::dms-migration::dmsmig:cutover:CutoverControl$aws:ssm/parameter:Parameter::cutover-parameter"
)
TASK = "urn:pulumi:sandbox::dms-migration::dmsmig:tasks:TaskGroup$aws:dms/replicationTask:ReplicationTask::p1"
ROOT = "urn:pulumi:sandbox::dms-migration::pulumi:pulumi:Stack::dms-migration-sandbox"


def _event(op: str, urn: str, type_: str) -> EngineEvent:
    meta = StepEventMetadata(op=OpType(op), urn=urn, type=type_, provider="", old=None, new=None)
    return EngineEvent(sequence=1, timestamp=0, resource_pre_event=ResourcePreEvent(metadata=meta))


class FakeStack:
    def __init__(self, pending: list[tuple[str, str, str]]):
        self.config = {"dms-migration:migration.readSwitch.readsFrom": "source"}
        self.pending, self.ups, self.previews = pending, [], 0

    def get_config(self, key, path=False):
        return auto.ConfigValue(value=self.config[key])

    def set_config(self, key, value, path=False):
        self.config[key] = value.value

    def remove_config(self, key, path=False):
        self.config.pop(key, None)

    def preview(self, on_event=None, **_kwargs):
        self.previews += 1
        for op, urn, type_ in [
            ("same", ROOT, "pulumi:pulumi:Stack"),
            ("update", PARAM, "aws:ssm/parameter:Parameter"),
            *self.pending,
        ]:
            on_event(_event(op, urn, type_))

    def up(self, on_output=None, **kwargs):
        self.ups.append(kwargs)
        summary = type("Summary", (), {"result": "succeeded", "resource_changes": {"update": 1}})()
        return type("UpResult", (), {"summary": summary})()


@pytest.fixture
def stack(monkeypatch, request):
    fake = FakeStack(getattr(request, "param", []))
    monkeypatch.setattr(auto, "select_stack", lambda **_kwargs: fake)
    return fake


def test_the_switch_updates_only_the_read_switch_parameter(stack):
    lines = AutomationDriver("sandbox").set_and_apply(READS_FROM, "dynamodb", only=[PARAM])
    assert stack.previews == 1 and len(stack.ups) == 1
    assert stack.ups[0]["target"] == [PARAM]
    assert stack.config["dms-migration:migration.readSwitch.readsFrom"] == "dynamodb"
    assert "only cutover-parameter changes" in lines[0]


@pytest.mark.parametrize("stack", [[("update", TASK, "aws:dms/replicationTask:ReplicationTask")]], indirect=True)
def test_anything_else_pending_is_refused_named_and_nothing_is_applied(stack):
    with pytest.raises(OpsError) as caught:
        AutomationDriver("sandbox").set_and_apply(READS_FROM, "dynamodb", only=[PARAM])
    assert "would also change 1 other resource(s): update " + TASK in caught.value.message
    assert stack.ups == []  # nothing applied
    assert stack.config["dms-migration:migration.readSwitch.readsFrom"] == "source"  # the config is put back
    assert "back to 'source'" in caught.value.fix


def test_decommission_is_not_targeted(stack):
    AutomationDriver("sandbox").set_and_apply("decommissioned", True)
    assert stack.previews == 0 and "target" not in stack.ups[0]
    assert stack.config["dms-migration:migration.decommissioned"] == "true"
