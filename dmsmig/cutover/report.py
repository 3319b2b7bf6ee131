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
from datetime import datetime
from typing import Any

from dmsmig.cutover.machine import ORDER, CutoverState, Status, Step

SECTIONS = ("identity", "timeline", "gates", "validation", "progress", "cdc-latency", "reads", "previous-runs")


def report_of(state: CutoverState, outputs: Any) -> dict:
    """:func:`report_data` with the identity the stack's outputs export (else just the stack's name)."""
    identity = outputs.identity.model_dump() if outputs.identity else {"stack": state.stack}
    return report_data(state, identity)


def report_data(state: CutoverState, identity: dict | None = None) -> dict:
    """Everything the report shows, as JSON-ready data (``cutover-status --json`` prints this)."""
    steps = []
    for step in ORDER:
        record = state.record(step)
        data = record.data or {}
        steps.append(
            {
                "step": step.value,
                "status": record.status.value,
                "started": record.started,
                "ended": record.at if record.status in (Status.DONE, Status.FAILED) else "",
                "by": record.by,
                "evidence": record.evidence,
                "reason": record.reason,
                "threshold": data.get("threshold", {}),
                "effectApplied": record.effect_applied,
            }
        )
    switch = state.record(Step.SWITCH_READS)
    return {
        "stack": state.stack,
        "context": state.context,
        "identity": identity or {},
        "finished": state.finished,
        "rolledBack": state.rolled_back,
        "steps": steps,
        "validation": state.record(Step.VALIDATION).data.get("validation"),
        "samples": {
            "preconditions": state.record(Step.PRECONDITIONS).data.get("samples", []),
            "monitor": state.record(Step.MONITOR).data.get("samples", []),
        },
        "readsMoved": {"at": switch.at, "by": switch.by} if switch.effect_applied else None,
        "rollbacks": state.rollbacks,
        "previousRuns": [
            {
                "rolledBack": run.get("rolled_back", False),
                "rollbacks": run.get("rollbacks", []),
                "steps": {name: rec.get("status") for name, rec in (run.get("steps") or {}).items()},
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


def _close(figure: Any) -> None:
    from matplotlib import pyplot as plt

    plt.close(figure)


def _empty_chart(message: str) -> str:
    figure, axes = _figure(height=1.2)
    axes.axis("off")
    axes.text(0.5, 0.5, message, ha="center", va="center")
    try:
        return _svg(figure)
    finally:
        _close(figure)


def validation_chart(validation: dict | None) -> str:
    """Source rows against items per partition (grouped bars), from the final validation."""
    groups = (validation or {}).get("groups", {})
    rows = [
        (p["task"].rsplit("-", 1)[-1] if len(groups) == 1 else p["task"], p["sourceRows"], p["targetItems"])
        for partitions in groups.values()
        for p in partitions
    ]
    if not rows:
        return _empty_chart("no final validation recorded yet")
    figure, axes = _figure()
    xs = range(len(rows))
    axes.bar([x - 0.2 for x in xs], [r[1] for r in rows], width=0.4, label="source rows", color="#4477aa")
    axes.bar([x + 0.2 for x in xs], [r[2] or 0 for r in rows], width=0.4, label="DynamoDB items", color="#66ccee")
    axes.set_xticks(list(xs), [r[0] for r in rows], rotation=30, ha="right")
    axes.set_ylabel("rows / items")
    axes.legend(loc="upper right")
    try:
        return _svg(figure)
    finally:
        _close(figure)


def progress_chart(samples: list[dict]) -> str:
    """Each task's full-load progress when the preconditions were checked."""
    tasks = samples[-1]["tasks"] if samples else []
    if not tasks:
        return _empty_chart("no progress sample recorded yet")
    figure, axes = _figure(height=max(1.4, 0.3 * len(tasks) + 0.6))
    names = [t["task"] for t in tasks]
    axes.barh(names, [t.get("percent") or 0 for t in tasks], color="#228833")
    axes.set_xlim(0, 100)
    axes.set_xlabel("full load %")
    try:
        return _svg(figure)
    finally:
        _close(figure)


def latency_chart(samples: list[dict], limit: float | None) -> str:
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
        return _empty_chart("no CDC latency sampled (no CDC task, or no samples yet)")
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
@media print { body { margin: 1cm; } a { color: inherit; } }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _status(value: str) -> str:
    css = {"done": "ok", "failed": "bad"}.get(value, "muted")
    return f'<span class="{css}">{_e(value)}</span>'


def render_html(data: dict) -> str:
    """The report as one HTML document: inline CSS and SVG, no script, no external resource."""
    identity = data.get("identity") or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Cutover evidence: {_e(data['stack'])}</title><style>{STYLE}</style></head><body>",
        f"<h1>Cutover evidence: stack {_e(data['stack'])}</h1>",
        '<p class="muted">Generated by <code>python -m dmsmig cutover-status --report</code> from the recorded '
        "cutover state.</p>",
        *(
            [f'<p class="banner" id="context">{_e(data["context"])}: not the evidence of a real cutover.</p>']
            if data.get("context")
            else []
        ),
        '<section id="identity"><h2>Stack</h2><table>',
    ]
    for key in ("project", "stack", "region", "account"):
        parts.append(f"<tr><th>{key}</th><td>{_e(identity.get(key, '-'))}</td></tr>")
    verdict = "finished" if data["finished"] else "rolled back" if data["rolledBack"] else "in progress"
    parts.append(f"<tr><th>run</th><td>{_e(verdict)}</td></tr></table></section>")

    parts.append('<section id="timeline"><h2>Timeline</h2><table>')
    parts.append("<tr><th>step</th><th>status</th><th>started</th><th>ended</th><th>run by</th></tr>")
    for step in data["steps"]:
        parts.append(
            f"<tr><td>{_e(step['step'])}</td><td>{_status(step['status'])}</td><td>{_e(step['started'])}</td>"
            f"<td>{_e(step['ended'])}</td><td>{_e(step['by'])}</td></tr>"
        )
    parts.append("</table></section>")

    parts.append('<section id="gates"><h2>Gates: evidence against thresholds</h2><table>')
    parts.append("<tr><th>step</th><th>threshold</th><th>evidence</th><th>stopped because</th></tr>")
    for step in data["steps"]:
        threshold = ", ".join(f"{k} {v}" for k, v in (step["threshold"] or {}).items()) or "-"
        evidence = "".join(f"<li>{_e(line)}</li>" for line in step["evidence"]) or "<li class='muted'>none yet</li>"
        parts.append(
            f"<tr><td>{_e(step['step'])}</td><td>{_e(threshold)}</td><td><ul class='evidence'>{evidence}</ul></td>"
            f"<td>{_e(step['reason'])}</td></tr>"
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
                    f"<tr><td>{_e(p['task'])}</td><td>{_e(p['sourceRows'])}</td><td>{_e(p['targetItems'])}</td>"
                    f"<td>{_status('done' if p.get('ok') else 'failed')} {_e(p.get('verdict', ''))}</td></tr>"
                )
        parts.append("</table>")
    parts.append(f"<figure>{validation_chart(validation)}<figcaption>Source rows against DynamoDB items"
                 "</figcaption></figure></section>")  # fmt: skip

    samples = data.get("samples") or {}
    parts.append('<section id="progress"><h2>Full-load progress at the preconditions check</h2>')
    parts.append(f"<figure>{progress_chart(samples.get('preconditions', []))}</figure></section>")
    limit = next((s["threshold"].get("cdcLatencyMaxSeconds") for s in data["steps"] if s["threshold"]), None)
    monitor = samples.get("monitor", [])
    parts.append('<section id="cdc-latency"><h2>CDC latency while the gates waited</h2>')
    parts.append(f"<figure>{latency_chart(samples.get('preconditions', []) + monitor, limit)}</figure>")
    parts.append(f"<p class='muted'>{len(monitor)} sample(s) during the monitor window.</p></section>")

    parts.append('<section id="reads"><h2>Reads and rollbacks</h2><ul>')
    moved = data.get("readsMoved")
    parts.append(
        f"<li>reads moved to DynamoDB at {_e(moved['at'])} by {_e(moved['by'])}</li>"
        if moved
        else "<li class='muted'>reads have not moved in this run</li>"
    )
    for rollback in data.get("rollbacks", []):
        parts.append(f"<li class='bad'>rolled back at {_e(rollback.get('at'))} by {_e(rollback.get('by'))}</li>")
    parts.append("</ul></section>")

    parts.append('<section id="previous-runs"><h2>Earlier runs</h2>')
    runs = data.get("previousRuns", [])
    if not runs:
        parts.append("<p class='muted'>none: this is the first run of this stack.</p>")
    for n, run in enumerate(runs, 1):
        done = sum(1 for status in run["steps"].values() if status == "done")
        parts.append(
            f"<p>run {n}: {done} of {len(run['steps'])} steps done"
            + (", rolled back" if run["rolledBack"] else "")
            + "</p>"
        )
    parts.append("</section></body></html>")
    return "\n".join(parts)
