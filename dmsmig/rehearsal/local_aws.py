"""The local AWS process of a rehearsal: start it by PID, create the stack's resources in it, stop it.

Resources are created from the program's own declared resources through the contract layer's
requests (:func:`dmsmig.contract.requests.requests_for`), the calls the AWS provider would send:
the DynamoDB table (keys, GSIs, TTL), the read-switch parameter, the cutover state table, the
topic, the alarms, and the DMS endpoints, instances, tasks and Serverless replications (to the
emulator). What a laptop does not need (IAM, KMS, logs, EventBridge, VPC, S3) is counted as not
created, never silently dropped.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config

from dmsmig.contract.requests import requests_for
from dmsmig.ops.errors import OpsError, UsageError
from dmsmig.rehearsal.processes import read_pid_file, stamp, write_pid_file

LOCAL_CREDENTIALS = {"aws_access_key_id": "rehearsal", "aws_secret_access_key": "rehearsal"}
CREATED_SERVICES = {"dynamodb", "ssm", "sns", "cloudwatch", "dms"}
# Left out on a laptop: encryption keys, IAM, log plumbing, networking and the assessment bucket.
DROPPED_MEMBERS = {"CreateTable": ("SSESpecification", "WarmThroughput"), "CreateTopic": ("Attributes",)}
NOT_CREATED = {"UpdateContinuousBackups", "PutDashboard", "CreateEventSubscription", "CreateReplicationSubnetGroup"}


def local_session() -> boto3.session.Session:
    """A session with throwaway credentials: a rehearsal never sends real ones anywhere."""
    return boto3.session.Session(**LOCAL_CREDENTIALS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class LocalAws:
    """The server process (moto + emulated DMS) for one rehearsal, found again through its PID file."""

    state_dir: Path
    port: int = 0
    pid: int | None = None
    found: list[str] = field(default_factory=list)
    """What an earlier run left here (its server, or a stale PID file) and what this run did about it."""

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "local-aws.pid"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, config: dict, port: int | None = None, outlive_us: bool = False) -> str:
        """Start the server on ``port`` (free one when None); wait until it answers. Unless ``outlive_us``
        (``--keep``), the server also stops by itself when this process is gone (killed, not just Ctrl-C)."""
        self.stop_previous()
        self.port = port or free_port()
        if port_in_use(self.port):
            raise UsageError(f"port {self.port} on 127.0.0.1 is in use", "pass another --port, or omit it")
        config_file = self.state_dir / "local-aws.json"
        config_file.write_text(json.dumps(config))
        log = self._fresh_log()
        process = subprocess.Popen(
            [sys.executable, "-m", "dmsmig.rehearsal.server", "--port", str(self.port), "--config", str(config_file)]
            + ([] if outlive_us else ["--parent", str(os.getpid())]),
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C in the terminal reaches us, and we stop it by PID
            cwd=Path(__file__).resolve().parents[2],
        )
        self.pid = process.pid
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = self.log_file.read_text(errors="replace")[-300:]
                raise OpsError(
                    f"the local AWS server exited at start: {tail.strip()}", "see local-aws.log in the state dir"
                )
            if port_in_use(self.port):  # answering: it runs its own command line now, which the file records
                write_pid_file(self.pid_file, process.pid, port=self.port)
                return self.endpoint_url
            time.sleep(0.1)
        self.stop()
        raise OpsError("the local AWS server did not answer within 60 s", "see local-aws.log in the state dir")

    def gone(self) -> str | None:
        """Why the server this rehearsal started is not there any more (None while it runs)."""
        if self.pid is None:
            return None
        try:
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                return f"the rehearsal's local AWS (process {self.pid}, port {self.port}) exited"
        except ChildProcessError:
            pass  # not our child (a --keep server found again): ask the OS whether it lives
        if stamp(self.pid) is None:
            return f"the rehearsal's local AWS (process {self.pid}, port {self.port}) is gone"
        return None

    @property
    def log_file(self) -> Path:
        return self.state_dir / "local-aws.log"

    def _fresh_log(self) -> Any:
        """This run's log, the previous run's kept beside it as local-aws.previous.log: two runs at most, so
        the folder does not grow with every rehearsal."""
        if self.log_file.exists():
            self.log_file.replace(self.state_dir / "local-aws.previous.log")
        return self.log_file.open("wb")

    def stop_previous(self) -> None:
        """Stop the server an earlier run left (an interrupted rehearsal), so a rerun works: only when the
        process its PID file names is still that server; any other process is left alone."""
        previous = read_pid_file(self.pid_file)
        if previous is None:
            self.pid_file.unlink(missing_ok=True)
            return
        if previous.ours:
            self.pid, self.port = previous.recorded["pid"], int(previous.recorded.get("port") or 0)
            self.stop()
            self.found.append(
                f"an earlier rehearsal's local AWS (process {previous.recorded['pid']}) was still running in "
                f"{self.state_dir}: that run was interrupted; stopped it, this run starts afresh"
            )
            return
        self.pid_file.unlink(missing_ok=True)
        self.found.append(
            f"{self.pid_file} was left by an earlier rehearsal that did not stop it; {previous.describe()}: "
            "left alone, the stale file removed, this run starts afresh"
        )

    def stop(self) -> None:
        """Stop the server by PID (TERM, then KILL after 5 s) and remove the PID file."""
        if self.pid:
            for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline:
                    try:
                        if os.waitpid(self.pid, os.WNOHANG)[0]:
                            break
                        os.kill(self.pid, 0)
                    except (ChildProcessError, ProcessLookupError):
                        break
                    time.sleep(0.05)
                else:
                    continue
                break
            self.pid = None
        self.pid_file.unlink(missing_ok=True)

    def client(self, service: str, region: str) -> Any:
        return local_session().client(
            service, region_name=region, endpoint_url=self.endpoint_url, config=Config(retries={"max_attempts": 2})
        )


@dataclass
class Provisioned:
    """What was created locally and what was not (by operation)."""

    created: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)


def provision(local: LocalAws, region: str, resources: list[Any]) -> Provisioned:
    """Send the create requests of ``resources`` (the program's declared ones) to the local AWS."""
    result = Provisioned()
    clients: dict[str, Any] = {}
    for resource in resources:
        for request in requests_for(resource):
            if request.service not in CREATED_SERVICES or request.operation in NOT_CREATED:
                result.skipped[f"{request.service}:{request.operation}"] += 1
                continue
            params = {k: v for k, v in request.params.items() if k not in DROPPED_MEMBERS.get(request.operation, ())}
            if request.operation == "PutMetricAlarm":
                params.pop("AlarmActions", None), params.pop("OKActions", None)
            client = clients.setdefault(request.service, local.client(request.service, region))
            try:
                getattr(client, xform_name(request.operation))(**params)
            except Exception as err:  # noqa: BLE001 - one line naming the resource
                raise OpsError(
                    f"creating {request.resource} locally ({request.service} {request.operation}) failed: "
                    f"{str(err)[:300]}",
                    "the local AWS could not take the program's request; see local-aws.log in the state dir",
                ) from None
            result.created[f"{request.service}:{request.operation}"] += 1
    return result
