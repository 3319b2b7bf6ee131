"""The cutover evidence report in a real headless browser (Chromium from the system packages).

It is opened from disk with the network off: every section and chart must be drawn (DOM) and the
screenshot must show them (pixels). Without Chromium: skipped with the reason on a laptop, failed in
CI (``CI`` set), where .ci/run installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from dmsmig.cutover.machine import CutoverState, Status, Step
from dmsmig.cutover.report import SECTIONS, render_html, report_data

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.fixture(autouse=True)
def _needs_a_browser():
    if BROWSER is None:
        reason = "no Chromium here: .ci/run installs the Debian package"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must run every test)", pytrace=False)
        pytest.skip(reason)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--proxy-server=127.0.0.1:9", "--window-size=1200,4200"]  # fmt: skip


def _state() -> CutoverState:
    """A finished run that was rolled back once before: every section has something to draw."""
    state = CutoverState("prod", "fp")
    start = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
    by = "arn:aws:sts::123456789012:assumed-role/Operator/jane (jane@bastion)"
    for n, step in enumerate(Step):
        record = state.record(step)
        record.status, record.by = Status.DONE, by
        record.started = (start + timedelta(minutes=5 * n)).isoformat(timespec="seconds")
        record.at = (start + timedelta(minutes=5 * n + 3)).isoformat(timespec="seconds")
        record.evidence = [f"{step.value}: evidence line"]
    state.record(Step.SWITCH_READS).effect_applied = True
    state.record(Step.SWITCH_READS).data = {"reads": {"before": "source", "after": "dynamodb"}}
    state.record(Step.PRECONDITIONS).data = {
        "threshold": {"cdcLatencyMaxSeconds": 60},
        "samples": [
            {
                "at": start.isoformat(),
                "tasks": [
                    {
                        "task": f"prod-p{i}",
                        "percent": 100,
                        "rows": 1000 * i,
                        "cdcLatencySource": 3.0 + i,
                        "cdcLatencyTarget": 5.0 + i,
                    }  # fmt: skip
                    for i in range(1, 4)
                ],
            }
        ],
    }
    state.record(Step.MONITOR).data = {
        "threshold": {"monitorMinutes": 15},
        "samples": [
            {
                "at": (start + timedelta(minutes=30 + m)).isoformat(),
                "alarmsInAlarm": 0,
                "tasks": [{"task": "prod-p3", "cdcLatencySource": 2.0 + m % 3, "cdcLatencyTarget": 4.0 + m % 4}],
            }
            for m in range(15)
        ],
    }
    state.record(Step.VALIDATION).data = {
        "validation": {
            "mode": "full",
            "ok": True,
            "groups": {
                "orders/events": [
                    {"task": f"prod-p{i}", "sourceRows": 1000 * i, "targetItems": 1000 * i, "ok": True, "verdict": "ok"}
                    for i in range(1, 4)
                ]
            },  # fmt: skip
            "failureCount": 0,
            "failures": [],
        }
    }
    earlier = {step.value: {"status": "done", "at": start.isoformat(), "by": by} for step in list(Step)[:5]}
    state.previous_runs = [
        {
            "rolled_back": True,
            "rollbacks": [{"at": "2026-11-30T09:15:00+00:00", "by": "arn:aws:sts::123456789012:assumed-role/Operator/sam"}],
            "steps": earlier,
        }
    ]
    return state


def test_the_report_draws_every_section_and_chart_in_a_headless_browser(tmp_path):
    page = tmp_path / "cutover.html"
    page.write_text(render_html(report_data(_state(), {"project": "dms-migration", "stack": "prod",
                                                      "region": "eu-west-1", "account": "123456789012"})))  # fmt: skip
    url = page.as_uri()
    dom = subprocess.run([BROWSER, *FLAGS, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    for section in SECTIONS:
        assert f'id="{section}"' in dom, f"section {section} is not in the rendered DOM"
    charts = re.findall(r"<figure>.*?</figure>", dom, flags=re.S)
    assert len(charts) == 3 and all("<svg" in c and "<path" in c for c in charts)
    assert "arn:aws:sts::123456789012:assumed-role/Operator/jane" in dom and "every item (validate --full)" in dom
    # one overall verdict, each gate's verdict in words, the switch before and after
    assert re.search(r'id="verdict".*finished: every gate passed, reads on DynamoDB', dom)
    gates = dom[dom.index('id="gates"') : dom.index('id="validation"')]
    assert gates.count(">passed<") == len(Step)
    assert "from source to dynamodb" in dom
    # the earlier run: its steps, and its rollback with the time and the operator
    earlier = dom[dom.index('id="previous-runs"') :]
    text = re.sub(r"<[^>]+>", "", earlier)  # the words as a reader sees them
    assert "rolled back at 2026-11-30T09:15:00+00:00 by arn:aws:sts::123456789012:assumed-role/Operator/sam" in text
    assert earlier.count(">passed<") == 5 and earlier.count(">not reached<") == 2
    reads = dom[dom.index('id="reads"') : dom.index('id="previous-runs"')]
    assert "run 1: rolled back at 2026-11-30T09:15:00+00:00 by" in re.sub(r"<[^>]+>", "", reads)
    # which program made it, from which config, when and by which command
    assert re.search(r"program dmsmig \d+\.\d+\.\d+, commit [0-9a-f]{12}", dom)
    assert "config fingerprint <code>fp</code>" in dom and "<code>python -m dmsmig cutover-status --report</code>" in dom
    # counts formatted one way
    assert ">3,000<" in dom and ">3000<" not in dom
    shot = tmp_path / "cutover.png"
    subprocess.run([BROWSER, *FLAGS, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
    from matplotlib import image

    pixels = image.imread(shot)
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1000
    colours = {tuple(int(c * 255) for c in px[:3]) for px in pixels[::25, ::25].reshape(-1, pixels.shape[2])}
    # the charts' blues and greens are on the page, not only text on white
    assert {(0x44, 0x77, 0xAA), (0x22, 0x88, 0x33)} & colours or len(colours) > 40


def test_a_report_without_samples_draws_no_empty_chart_frames(tmp_path):
    state = CutoverState("sandbox", "fp")
    page = tmp_path / "early.html"
    page.write_text(render_html(report_data(state, {"stack": "sandbox"}, "python -m dmsmig rehearse --stack sandbox")))
    dom = subprocess.run(
        [BROWSER, *FLAGS, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    assert "<figure>" not in dom and "<svg" not in dom
    assert "no CDC latency sampled" in dom and "no final validation recorded in this run" in dom
    assert "<code>python -m dmsmig rehearse --stack sandbox</code>" in dom
    assert re.search(r'id="verdict".*in progress: 0 of 7 steps passed', dom)
