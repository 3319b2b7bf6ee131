"""A task's full load in its own process, so the local AWS keeps a core to itself.

The rehearsal's server answers every DynamoDB and DMS request in one Python process. A full load
run in a thread of that process (reading the source, mapping, building and signing 25-item
requests) competes with the server for one interpreter lock and halves what both can do. Here each
started task loads in a child process (``spawn``), writing to the server over HTTP as any client
does; the emulator sees the same interface as :class:`FullLoad` (``tables``, ``result``,
``progress_percent``, ``stop_requested``, ``run``), fed by the child's progress messages. A child
whose server went away stops by itself.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from typing import Any

from dmsmig.model.dms_semantics import parse_table_mappings
from dmsmig.rehearsal.cdc import CdcStatistics, ChangeStream, SlotGone, run_stream
from dmsmig.rehearsal.fullload import FullLoad, FullLoadResult, SourceBinding, TableProgress, progress_percent

REPORT_SECONDS = 0.5
METRIC_SECONDS = 1.0


def _client(args: dict, service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        region_name=args["region"],
        endpoint_url=args["endpoint_url"],
        aws_access_key_id="rehearsal",
        aws_secret_access_key="rehearsal",
        config=Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=64),
    )


def _child(args: dict, messages: Any, stop: Any) -> None:
    from dmsmig.ops.source_db import connect

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the rehearsal, which stops the server
    parent = os.getppid()
    engine = connect(args["url"])
    load = FullLoad(
        args["mappings"], args["settings"], SourceBinding(engine, args["types"]), lambda: _client(args, "dynamodb")
    )
    load.stop_requested = stop
    cdc = args.get("cdc")
    stream = None
    if cdc is not None:  # the slot exists before the full load reads: changes made during it are kept
        stream = ChangeStream(cdc["taskId"], load.rules, engine, args["types"], load.lob, _client(args, "dynamodb"))
        try:
            stream.prepare(resume=bool(cdc.get("cdcOnly")))
        except Exception as err:  # noqa: BLE001 - the task fails with the reason, as DMS reports it
            messages.put(("result", (load.tables, FullLoadResult(True, f"CDC cannot start: {err}"[:500]))))
            return
    done = threading.Event()

    def report() -> None:
        while not done.wait(REPORT_SECONDS):
            if os.getppid() != parent:  # the server is gone: stop loading into nothing
                stop.set()
            messages.put(("tables", load.tables))

    if cdc is not None and cdc.get("cdcOnly"):  # a resumed CDC task: its full-load statistics stay as they were
        result = FullLoadResult()
        messages.put(("result", (None, result)))
    else:
        threading.Thread(target=report, daemon=True).start()
        result = load.run()
        done.set()
        messages.put(("result", (load.tables, result)))
    if stream is None or cdc is None or result.failed or result.interrupted:
        return
    _follow(stream, args, cdc, messages, stop, parent)


def _follow(stream: ChangeStream, args: dict, cdc: dict, messages: Any, stop: Any, parent: int) -> None:
    """Apply changes until stopped; report statistics and publish the latency metrics every second."""
    cloudwatch = _client(args, "cloudwatch")
    dimensions = [{"Name": k, "Value": v} for k, v in cdc["dimensions"].items()]
    published = 0.0

    def report(stats: CdcStatistics) -> None:
        nonlocal published
        if os.getppid() != parent:
            stop.set()
        messages.put(("cdc", stats))
        if time.monotonic() - published >= METRIC_SECONDS:
            published = time.monotonic()
            cloudwatch.put_metric_data(
                Namespace="AWS/DMS",
                MetricData=[
                    {"MetricName": name, "Dimensions": dimensions, "Value": value, "Unit": "Seconds"}
                    for name, value in (
                        ("CDCLatencySource", stats.latency_source),
                        ("CDCLatencyTarget", stats.latency_target),
                    )
                ],
            )

    try:
        run_stream(stream, stop.is_set, report)
    except Exception as err:  # noqa: BLE001 - e.g. the slot was dropped: the task fails, naming it
        messages.put(("cdc-failed", f"CDC stopped: {_cdc_failure(stream, err)}"[:500]))


def _cdc_failure(stream: ChangeStream, err: Exception) -> str:
    """Why the change stream stopped: a dropped slot named as such (with what to do), else the error."""
    try:
        with stream.engine.connect() as conn:
            if not stream.slot_exists(conn):
                return str(SlotGone(stream.task_id, stream.slot))
    except Exception:  # noqa: BLE001 - the source itself is unreachable: the error says so
        pass
    return f"{type(err).__name__}: {str(err).splitlines()[0]}"


class LoadProcess:
    """One task's full load in a child process, seen through :class:`FullLoad`'s interface."""

    def __init__(
        self,
        table_mappings: str | dict,
        settings: str | dict | None,
        source: SourceBinding,
        endpoint_url: str,
        region: str,
        cdc: dict | None = None,
        tables: list[TableProgress] | None = None,
    ):
        """``cdc``: the task's change stream (``taskId``, metric ``dimensions``, ``cdcOnly`` to skip the full
        load when a stopped CDC task resumes); ``tables``: the statistics of its earlier full load."""
        if source.url is None:
            raise ValueError("a load in another process needs the source's URL")
        context = multiprocessing.get_context("spawn")
        self._context = context
        self.stop_requested = context.Event()
        self._messages = context.Queue()
        self.tables = tables or [TableProgress(r.schema, r.table) for r in parse_table_mappings(table_mappings)]
        self.result: FullLoadResult | None = None
        self.cdc: CdcStatistics | None = None
        self.cdc_failure = ""
        self.cdc_running = False
        self._args = {
            "mappings": table_mappings,
            "settings": settings,
            "url": source.url,
            "types": source.types,
            "endpoint_url": endpoint_url,
            "region": region,
            "cdc": cdc,
        }

    @property
    def progress_percent(self) -> int:
        return progress_percent(self.tables, self.result)

    def run(self) -> FullLoadResult:
        """Start the child and follow it to its end (the change stream's too); never raises."""
        process = self._context.Process(
            target=_child, args=(self._args, self._messages, self.stop_requested), daemon=True
        )
        process.start()
        self.cdc_running = self._args["cdc"] is not None
        try:
            while self.result is None or (self.cdc_running and process.is_alive()):
                try:
                    kind, payload = self._messages.get(timeout=REPORT_SECONDS * 2)
                except queue.Empty:
                    if not process.is_alive() and self.result is None:
                        self.result = FullLoadResult(True, f"the load process ended with exit code {process.exitcode}")
                    continue
                if kind == "tables":
                    self.tables = payload
                elif kind == "cdc":
                    self.cdc = payload
                elif kind == "cdc-failed":
                    self.cdc_failure = payload
                else:
                    tables, self.result = payload
                    self.tables = tables if tables is not None else self.tables
            process.join(10)
        finally:
            self.cdc_running = False
        return self.result
