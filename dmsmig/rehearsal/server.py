"""The local AWS of a rehearsal: moto's server for every service, with DMS answered by the emulator.

One process on 127.0.0.1 (started and stopped by :mod:`dmsmig.rehearsal.local_aws`, by PID).
Requests whose ``X-Amz-Target`` is DMS's JSON protocol prefix go to :class:`EmulatedDms`; everything
else (DynamoDB, SSM, SNS, CloudWatch, STS, Secrets Manager, IAM) goes to moto. boto3 clients reach
both through one ``--endpoint-url``, so the operator commands need no rehearsal code path.

Run: ``python -m dmsmig.rehearsal.server --port P --config rehearsal-server.json``; the config names
the region and, per source endpoint identifier, the SQLAlchemy URL and declared column types.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError

from dmsmig.contract.type_paths import ColumnType
from dmsmig.rehearsal import linear_scan
from dmsmig.rehearsal.dms_emulator import EmulatedDms
from dmsmig.rehearsal.fullload import SourceBinding
from dmsmig.rehearsal.load_process import LoadProcess

DMS_TARGET_PREFIX = "AmazonDMSv20160101."
TICK_SECONDS = 0.25


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()  # the JSON protocol's timestamps are epoch seconds
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).timestamp()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


class DmsJsonApp:
    """A WSGI app speaking DMS's JSON protocol to an :class:`EmulatedDms`."""

    def __init__(self, dms: EmulatedDms):
        self.dms = dms

    def __call__(self, environ: dict, start_response: Any) -> list[bytes]:
        operation = environ.get("HTTP_X_AMZ_TARGET", "")[len(DMS_TARGET_PREFIX) :]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b"{}"
        try:
            params = json.loads(body or b"{}")
            method = getattr(self.dms, xform_name(operation), None)
            if method is None:
                raise ClientError(
                    {"Error": {"Code": "InvalidParameterValueException", "Message": f"{operation} is not emulated"}},
                    operation,
                )
            with self.dms.lock:
                result = method(**params)
            status, payload = "200 OK", result
        except ClientError as err:
            error = err.response["Error"]
            status, payload = "400 Bad Request", {"__type": error["Code"], "message": error.get("Message", "")}
        except Exception as err:  # noqa: BLE001 - the client gets a fault, the server keeps serving
            status, payload = "500 Internal Server Error", {"__type": "InternalFailure", "message": str(err)}
        data = json.dumps(payload, default=_json_default).encode()
        start_response(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))])
        return [data]


def combined_app(moto_app: Any, dms_app: DmsJsonApp) -> Any:
    """Route DMS requests to the emulator and every other request to moto."""

    def app(environ: dict, start_response: Any) -> Any:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(DMS_TARGET_PREFIX):
            return dms_app(environ, start_response)
        return moto_app(environ, start_response)

    return app


def build_emulator(config: dict, endpoint_url: str) -> EmulatedDms:
    """The emulator with its data plane: each source endpoint bound to a database and its column types."""
    from dmsmig.ops.source_db import connect

    sources = {}
    for identifier, source in config.get("sources", {}).items():
        types = {
            (obj["schema"], obj["table"]): {c: ColumnType(**t) for c, t in obj["columns"].items()}
            for obj in source.get("objects", [])
        }
        sources[identifier] = SourceBinding(connect(source["url"]), types, source["url"], bool(source.get("cdc")))
    region = config.get("region", "eu-west-1")

    def make_dynamodb() -> Any:
        return boto3.client(
            "dynamodb",
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id="rehearsal",
            aws_secret_access_key="rehearsal",
            config=Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=64),
        )

    def load_factory(
        mappings: str, settings: str, binding: SourceBinding, cdc: dict | None, tables: list | None
    ) -> LoadProcess:
        return LoadProcess(mappings, settings, binding, endpoint_url, region, cdc, tables)

    return EmulatedDms([], region=region, sources=sources, make_dynamodb=make_dynamodb, load_factory=load_factory)


def serve(port: int, config: dict, parent: int | None = None) -> None:
    """Serve moto + the emulated DMS on 127.0.0.1:``port`` until SIGTERM/SIGINT, or until ``parent`` is gone."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    linear_scan.install()
    dms = build_emulator(config, f"http://127.0.0.1:{port}")
    app = combined_app(DomainDispatcherApplication(create_backend_app), DmsJsonApp(dms))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)

    def clock() -> None:
        while True:
            time.sleep(TICK_SECONDS)
            if parent is not None and os.getppid() != parent:  # the rehearsal died without stopping us
                threading.Thread(target=server.shutdown).start()
                return
            with dms.lock:
                dms.tick()

    threading.Thread(target=clock, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    # Loads still running in their threads hold no state worth keeping (the tables live in this
    # process): exit now rather than wait on them, so a stop takes milliseconds, not the 5 s to SIGKILL.
    for child in multiprocessing.active_children():  # loads still running
        child.terminate()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--parent", type=int, help="Stop when this process (the rehearsal) is gone.")
    args = parser.parse_args(argv)
    serve(args.port, json.loads(args.config.read_text()), args.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
