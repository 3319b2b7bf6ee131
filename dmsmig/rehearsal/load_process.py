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
from typing import Any

from dmsmig.build.dms_semantics import parse_table_mappings
from dmsmig.rehearsal.fullload import FullLoad, FullLoadResult, SourceBinding, TableProgress, progress_percent

REPORT_SECONDS = 0.5


def _child(args: dict, messages: Any, stop: Any) -> None:
    import boto3
    from botocore.config import Config

    from dmsmig.ops.source_db import connect

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the rehearsal, which stops the server
    parent = os.getppid()

    def make_dynamodb() -> Any:
        return boto3.client(
            "dynamodb",
            region_name=args["region"],
            endpoint_url=args["endpoint_url"],
            aws_access_key_id="rehearsal",
            aws_secret_access_key="rehearsal",
            config=Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=64),
        )

    load = FullLoad(
        args["mappings"], args["settings"], SourceBinding(connect(args["url"]), args["types"]), make_dynamodb
    )
    load.stop_requested = stop
    done = threading.Event()

    def report() -> None:
        while not done.wait(REPORT_SECONDS):
            if os.getppid() != parent:  # the server is gone: stop loading into nothing
                stop.set()
            messages.put(("tables", load.tables))

    threading.Thread(target=report, daemon=True).start()
    result = load.run()
    done.set()
    messages.put(("result", (load.tables, result)))


class LoadProcess:
    """One task's full load in a child process, seen through :class:`FullLoad`'s interface."""

    def __init__(
        self,
        table_mappings: str | dict,
        settings: str | dict | None,
        source: SourceBinding,
        endpoint_url: str,
        region: str,
    ):  # noqa: E501
        if source.url is None:
            raise ValueError("a load in another process needs the source's URL")
        context = multiprocessing.get_context("spawn")
        self._context = context
        self.stop_requested = context.Event()
        self._messages = context.Queue()
        self.tables = [TableProgress(r.schema, r.table) for r in parse_table_mappings(table_mappings)]
        self.result: FullLoadResult | None = None
        self._args = {
            "mappings": table_mappings,
            "settings": settings,
            "url": source.url,
            "types": source.types,
            "endpoint_url": endpoint_url,
            "region": region,
        }

    @property
    def progress_percent(self) -> int:
        return progress_percent(self.tables, self.result)

    def run(self) -> FullLoadResult:
        """Start the child and follow it to its end; never raises (a dead child is a failed load)."""
        process = self._context.Process(
            target=_child, args=(self._args, self._messages, self.stop_requested), daemon=True
        )
        process.start()
        while self.result is None:
            try:
                kind, payload = self._messages.get(timeout=REPORT_SECONDS * 2)
            except queue.Empty:
                if not process.is_alive():
                    self.result = FullLoadResult(True, f"the load process ended with exit code {process.exitcode}")
                continue
            if kind == "tables":
                self.tables = payload
            else:
                self.tables, self.result = payload
        process.join(10)
        return self.result
