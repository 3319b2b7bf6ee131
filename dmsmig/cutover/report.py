"""The cutover's evidence report: one self-contained HTML file a change board can read, and the same data as JSON.

From the recorded state alone (real cutovers and rehearsals alike): the stack's identity, a timeline
of the steps with who ran each and when, every gate's evidence against its threshold, the final
validation per partition (source rows against items, drawn), the tasks' progress and CDC latency
the gates sampled while they waited (drawn), when reads moved and by whom, each rollback, and the
archived earlier runs. Charts are static SVG drawn by matplotlib and inlined: the file needs no
network to open and prints on A4.
"""

from __future__ import annotations

import html
import io
from datetime import UTC, datetime
from typing import Any

from dmsmig.config.version import program_version
from dmsmig.cutover.machine import ORDER, CutoverState, Status, Step

SECTIONS = ("identity", "timeline", "gates", "validation", "progress", "cdc-latency", "reads", "previous-runs")


def report_of(state: CutoverState, outputs: Any, generated_by: str = "") -> dict:
    """:func:`report_data` with the identity the stack's outputs export (else just the stack's name)."""
    identity = outputs.identity.model_dump() if outputs.identity else {"stack": state.stack}
    return report_data(state, identity, generated_by)


def step_verdict(status: str, reason: str = "") -> str:
    """A gate's verdict in words."""
    if status == Status.DONE.value:
        return "passed"
    if status == Status.FAILED.value:
        return f"FAILED: {reason}" if reason else "FAILED"
    if status == Status.STARTED.value:
        return "in progress (started, not finished)"
    return "not reached"


def _steps(records: dict[str, dict]) -> list[dict]:
    """Each step of a run (today's order), as the report shows it."""
    steps = []
    for step in ORDER:
        record = records.get(step.value) or {}
        status = record.get("status", Status.PENDING.value)
        steps.append(
            {
                "step": step.value,
                "status": status,
                "verdict": step_verdict(status, record.get("reason", "")),
                "started": record.get("started", ""),
                "ended": record.get("at", "") if status in (Status.DONE.value, Status.FAILED.value) else "",
                "by": record.get("by", ""),
                "evidence": record.get("evidence", []),
                "reason": record.get("reason", ""),
                "threshold": (record.get("data") or {}).get("threshold", {}),
                "effectApplied": record.get("effect_applied", False),
            }
        )
    return steps


def run_verdict(steps: list[dict], rolled_back: bool, rollbacks: list[dict]) -> str:
    """One verdict for a whole run, in words."""
    if rolled_back:
        last = rollbacks[-1] if rollbacks else {}
        return f"rolled back at {last.get('at', '?')} by {last.get('by', '?')}: reads back on the source"
    failed = next((s for s in steps if s["status"] == Status.FAILED.value), None)
    if failed is not None:
        return f"stopped at {failed['step']}: {failed['reason']}"
    if all(s["status"] == Status.DONE.value for s in steps):
        return "finished: every gate passed, reads on DynamoDB"
    reached = [s["step"] for s in steps if s["status"] == Status.DONE.value]
    return f"in progress: {len(reached)} of {len(steps)} steps passed" + (f", last {reached[-1]}" if reached else "")


def report_data(state: CutoverState, identity: dict | None = None, generated_by: str = "") -> dict:
    """Everything the report shows, as JSON-ready data (``cutover-status --json`` prints this).

    ``generated_by``: the command that made it (``cutover-status --report``, ``rehearse``)."""
    from dataclasses import asdict

    records = {step.value: {**asdict(state.record(step)), "status": state.record(step).status.value} for step in ORDER}
    steps = _steps(records)
    switch = state.record(Step.SWITCH_READS)
    drained = state.record(Step.DRAINED)
    return {
        "stack": state.stack,
        "context": state.context,
        "identity": identity or {},
        "generated": {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "by": generated_by or "python -m dmsmig cutover-status --report",
            "program": program_version(),
        },
        "fingerprint": state.fingerprint,
        "verdict": run_verdict(steps, state.rolled_back, state.rollbacks),
        "finished": state.finished,
        "rolledBack": state.rolled_back,
        "steps": steps,
        "validation": state.record(Step.VALIDATION).data.get("validation"),
        "sentinelCounted": bool(drained.data.get("sentinelToken")),
        "samples": {
            "preconditions": state.record(Step.PRECONDITIONS).data.get("samples", []),
            "monitor": state.record(Step.MONITOR).data.get("samples", []),
        },
        "readsMoved": (
            {"at": switch.at, "by": switch.by, **(switch.data.get("reads") or {})} if switch.effect_applied else None
        ),
        "rollbacks": state.rollbacks,
        "previousRuns": [
            {
                "fingerprint": run.get("fingerprint", ""),
                "rolledBack": run.get("rolled_back", False),
                "rollbacks": run.get("rollbacks", []),
                "steps": _steps(run.get("steps") or {}),
                "verdict": run_verdict(
                    _steps(run.get("steps") or {}), run.get("rolled_back", False), run.get("rollbacks", [])
                ),
                "history": run.get("history", []),
            }
            for run in state.previous_runs
        ],
        "history": state.history,
    }


# --- charts (matplotlib, SVG) ------------------------------------------------------------------------
def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    # no RDF metadata block: the report stays small and names nothing outside itself
    figure.savefig(
        buffer,
        format="svg",
        bbox_inches="tight",
        metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
    )
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float = 7.0, height: float = 2.8) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 8})
    figure, axes = plt.subplots(figsize=(width, height))
    return figure, axes


def _thousands(axis: Any) -> None:
    """Tick labels with thousands separators, as every count in the report."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))


def _close(figure: Any) -> None:
    from matplotlib import pyplot as plt

    plt.close(figure)


def validation_chart(validation: dict | None) -> str | None:
    """Source rows against items per partition (grouped bars), from the final validation."""
    groups = (validation or {}).get("groups", {})
    rows = [
        (p["task"].rsplit("-", 1)[-1] if len(groups) == 1 else p["task"], p["sourceRows"], p["targetItems"])
        for partitions in groups.values()
        for p in partitions
    ]
    if not rows:
        return None
    figure, axes = _figure()
    xs = range(len(rows))
    axes.bar([x - 0.2 for x in xs], [r[1] for r in rows], width=0.4, label="source rows", color="#4477aa")
    axes.bar([x + 0.2 for x in xs], [r[2] or 0 for r in rows], width=0.4, label="DynamoDB items", color="#66ccee")
    axes.set_xticks(list(xs), [r[0] for r in rows], rotation=30, ha="right")
    axes.set_ylabel("rows / items")
    _thousands(axes.yaxis)
    axes.legend(loc="upper right")
    try:
        return _svg(figure)
    finally:
        _close(figure)


def progress_chart(samples: list[dict]) -> str | None:
    """Each task's full-load progress when the preconditions were checked."""
    tasks = samples[-1]["tasks"] if samples else []
    if not tasks:
        return None
    figure, axes = _figure(height=max(1.4, 0.3 * len(tasks) + 0.6))
    names = [t["task"] for t in tasks]
    axes.barh(names, [t.get("percent") or 0 for t in tasks], color="#228833")
    axes.set_xlim(0, 100)
    axes.set_xlabel("full load %")
    try:
        return _svg(figure)
    finally:
        _close(figure)


def latency_chart(samples: list[dict], limit: float | None) -> str | None:
    """CDC latency (source and target) of each CDC task over the samples the gates took while waiting."""
    series: dict[str, list[tuple[datetime, float]]] = {}
    for sample in samples:
        at = datetime.fromisoformat(sample["at"])
        for task in sample.get("tasks", []):
            for side in ("Source", "Target"):
                value = task.get(f"cdcLatency{side}")
                if value is not None:
                    series.setdefault(f"{task['task']} {side.lower()}", []).append((at, value))
    if not series:
        return None
    figure, axes = _figure()
    for name, points in sorted(series.items()):
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=2, label=name)
    if limit is not None:
        axes.axhline(limit, color="#cc3311", linestyle="--", label=f"threshold {limit:g} s")
    axes.set_ylabel("CDC latency (s)")
    axes.legend(loc="upper right", fontsize=6)
    figure.autofmt_xdate()
    try:
        return _svg(figure)
    finally:
        _close(figure)


# --- HTML -------------------------------------------------------------------------------------------
STYLE = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em; color: #222;
  max-width: 60em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; }
td, th { border: 1px solid #ddd; padding: 0.3em 0.5em; vertical-align: top; text-align: left; }
th { background: #f4f4f4; }
.ok { color: #176b2c; font-weight: 600; } .bad { color: #b00020; font-weight: 600; } .muted { color: #777; }
ul.evidence { margin: 0; padding-left: 1.1em; }
.banner { border: 2px solid #b26a00; background: #fff4e0; padding: 0.5em 0.8em; font-weight: 600; }
section { page-break-inside: avoid; } svg { max-width: 100%; height: auto; }
.time { white-space: nowrap; } .num { text-align: right; white-space: nowrap; }
.verdict { font-size: 1.1em; } h3 { font-size: 1em; margin-bottom: 0.3em; }
@media print { body { margin: 1cm; } a { color: inherit; } }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _status(value: str) -> str:
    css = {"done": "ok", "failed": "bad"}.get(value, "muted")
    return f'<span class="{css}">{_e(value)}</span>'


def _figure_or(svg: str | None, caption: str, nothing: str) -> str:
    """A chart with its caption, or one line saying why there is none (no empty frame)."""
    if svg is None:
        return f"<p class='muted'>{_e(nothing)}</p>"
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def _count(value: Any) -> str:
    """A count as every number in the report: with thousands separators; '-' when unknown."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else _e(value)


def _verdict(text: str) -> str:
    css = "muted"
    if text == "passed" or text.startswith("finished"):
        css = "ok"
    elif text.startswith(("FAILED", "stopped", "rolled back")):
        css = "bad"
    return f'<span class="{css}">{_e(text)}</span>'


def _steps_table(steps: list[dict]) -> str:
    rows = ["<table><tr><th>step</th><th>verdict</th><th>started</th><th>ended</th><th>run by</th></tr>"]
    for step in steps:
        rows.append(
            f"<tr><td>{_e(step['step'])}</td><td>{_verdict(step['verdict'])}</td>"
            f"<td class='time'>{_e(step['started'])}</td><td class='time'>{_e(step['ended'])}</td>"
            f"<td>{_e(step['by'])}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _rollback_items(rollbacks: list[dict], which: str) -> list[str]:
    return [
        f"<li class='bad'>{_e(which)}: rolled back at <span class='time'>{_e(r.get('at'))}</span> by {_e(r.get('by'))}"
        + (f" (reads were on {_e(r['readsWereFrom'])})" if r.get("readsWereFrom") else "")
        + "</li>"
        for r in rollbacks
    ]


def render_html(data: dict) -> str:
    """The report as one HTML document: inline CSS and SVG, no script, no external resource."""
    identity = data.get("identity") or {}
    generated = data.get("generated") or {}
    program = generated.get("program") or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Cutover evidence: {_e(data['stack'])}</title><style>{STYLE}</style></head><body>",
        f"<h1>Cutover evidence: stack {_e(data['stack'])}</h1>",
        f"<p id='verdict' class='verdict'>{_verdict(data.get('verdict', ''))}</p>",
        f"<p class='muted' id='generated'>Generated at <span class='time'>{_e(generated.get('at'))}</span> by "
        f"<code>{_e(generated.get('by'))}</code> from the recorded cutover state; program dmsmig "
        f"{_e(program.get('version'))}, commit {_e(program.get('commit'))}; config fingerprint "
        f"<code>{_e(data.get('fingerprint'))}</code>.</p>",
        *(
            [f'<p class="banner" id="context">{_e(data["context"])}: not the evidence of a real cutover.</p>']
            if data.get("context")
            else []
        ),
        '<section id="identity"><h2>Stack</h2><table>',
    ]
    for key in ("project", "stack", "region", "account"):
        parts.append(f"<tr><th>{key}</th><td>{_e(identity.get(key, '-'))}</td></tr>")
    parts.append(f"<tr><th>run</th><td>{_verdict(data.get('verdict', ''))}</td></tr></table></section>")

    parts.append(f'<section id="timeline"><h2>Timeline</h2>{_steps_table(data["steps"])}</section>')

    parts.append('<section id="gates"><h2>Gates: evidence against thresholds</h2><table>')
    parts.append("<tr><th>step</th><th>verdict</th><th>threshold</th><th>evidence</th></tr>")
    for step in data["steps"]:
        threshold = ", ".join(f"{k} {v}" for k, v in (step["threshold"] or {}).items()) or "-"
        evidence = "".join(f"<li>{_e(line)}</li>" for line in step["evidence"]) or "<li class='muted'>none yet</li>"
        parts.append(
            f"<tr><td>{_e(step['step'])}</td><td>{_verdict(step['verdict'])}</td><td>{_e(threshold)}</td>"
            f"<td><ul class='evidence'>{evidence}</ul></td></tr>"
        )
    parts.append("</table></section>")

    validation = data.get("validation")
    parts.append('<section id="validation"><h2>Final validation per partition</h2>')
    if validation:
        mode = "every item (validate --full)" if validation.get("mode") == "full" else "counts and samples"
        verdict = "<span class='ok'>match</span>" if validation.get("ok") else "<span class='bad'>differences</span>"
        parts.append(f"<p>{_e(mode)}: {verdict}</p><table><tr><th>task</th><th>source rows</th><th>items</th>"
                     "<th>verdict</th></tr>")  # fmt: skip
        for partitions in validation.get("groups", {}).values():
            for p in partitions:
                parts.append(
                    f"<tr><td>{_e(p['task'])}</td><td class='num'>{_count(p['sourceRows'])}</td>"
                    f"<td class='num'>{_count(p['targetItems'])}</td>"
                    f"<td>{_status('done' if p.get('ok') else 'failed')} {_e(p.get('verdict', ''))}</td></tr>"
                )
        parts.append("</table>")
        if data.get("sentinelCounted"):
            parts.append(
                "<p class='muted' id='sentinel-note'>These counts were taken with the cdc-drained sentinel row at "
                "the source and its item in DynamoDB: one more than the migrated data in the sentinel's partition. "
                "The finish step removes both.</p>"
            )
    parts.append(_figure_or(validation_chart(validation), "Source rows against DynamoDB items",
                            "no final validation recorded in this run"))  # fmt: skip
    parts.append("</section>")

    samples = data.get("samples") or {}
    parts.append('<section id="progress"><h2>Full-load progress at the preconditions check</h2>')
    parts.append(_figure_or(progress_chart(samples.get("preconditions", [])), "Each task's full load, in percent",
                            "no progress sample recorded in this run"))  # fmt: skip
    parts.append("</section>")
    limit = next((s["threshold"].get("cdcLatencyMaxSeconds") for s in data["steps"] if s["threshold"]), None)
    monitor = samples.get("monitor", [])
    parts.append('<section id="cdc-latency"><h2>CDC latency while the gates waited</h2>')
    parts.append(_figure_or(latency_chart(samples.get("preconditions", []) + monitor, limit),
                            "CDC latency of each CDC task, source and target",
                            "no CDC latency sampled: the stack has no CDC task, or no gate waited on one"))  # fmt: skip
    parts.append(f"<p class='muted'>{_count(len(monitor))} sample(s) during the monitor window.</p></section>")

    parts.append('<section id="reads"><h2>Reads and rollbacks</h2><ul>')
    moved = data.get("readsMoved")
    if moved:
        change = f" from {_e(moved.get('before'))} to {_e(moved.get('after'))}" if moved.get("after") else ""
        parts.append(
            f"<li>reads moved to DynamoDB at <span class='time'>{_e(moved['at'])}</span> by {_e(moved['by'])}"
            f"{change} (the read switch, read before and after)</li>"
        )
    else:
        parts.append("<li class='muted'>reads have not moved in this run</li>")
    parts += _rollback_items(data.get("rollbacks", []), "this run")
    for n, run in enumerate(data.get("previousRuns", []), 1):
        parts += _rollback_items(run.get("rollbacks", []), f"run {n}")
    parts.append("</ul></section>")

    parts.append('<section id="previous-runs"><h2>Earlier runs</h2>')
    runs = data.get("previousRuns", [])
    if not runs:
        parts.append("<p class='muted'>none: this is the first run of this stack.</p>")
    for n, run in enumerate(runs, 1):
        parts.append(f"<h3>run {n}: {_verdict(run['verdict'])}</h3>")
        parts.append(_steps_table(run["steps"]))
        parts.append("<ul>" + "".join(_rollback_items(run.get("rollbacks", []), f"run {n}")) + "</ul>")
    parts.append("</section></body></html>")
    return "\n".join(parts)
