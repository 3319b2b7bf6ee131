"""Where cutover state lives, and the lock that keeps two operators from running at once.

- :class:`DynamoStateStore` (real runs): items in the stack's small control table
  ``<env>-<service>-dmsmig-cutover``. A conditional write takes the lock (SSM parameters have no
  compare-and-set); the lock is a short lease that a heartbeat renews while the run lives, so a
  crashed run frees it within minutes; the refusal names the holder and when the lease expires;
  ``takeover`` replaces a named holder on purpose.
- :class:`FileStateStore` (rehearsals): a JSON file written atomically (each writer its own
  temporary file) and an OS lock (``filelock``) that dies with its process, as gh-ost's does, so
  a stale or empty lock file never blocks.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock, Timeout

from dmsmig.config.atomic import write_atomic
from dmsmig.cutover.machine import EXIT_LOCKED, CutoverState
from dmsmig.ops.errors import OpsError, UsageError, error_code
from dmsmig.ops.retry import call_naming, call_with_retry

LEASE_SECONDS = 120
HEARTBEAT_SECONDS = 30


class LockHeld(Exception):
    """Another run holds the lock; ``holder`` says who and ``expires`` (epoch seconds) until when."""

    def __init__(self, holder: str, expires: float | None = None):
        self.holder = holder
        self.expires = expires
        until = (
            f"; its lease expires at {datetime.fromtimestamp(expires, UTC).isoformat(timespec='seconds')}"
            if expires
            else ""
        )
        super().__init__(f"another cutover run holds the lock: {holder}{until}")


class LockLost(OpsError):
    """This run's lease was taken over (or expired) while it ran: it must stop."""

    exit_code = EXIT_LOCKED


def owner_id() -> str:
    """Who holds a lock: user, host, process and a per-acquisition run id (two runs in one process differ)."""
    return f"{os.environ.get('USER', 'unknown')}@{socket.gethostname()} pid {os.getpid()} run {uuid.uuid4().hex[:6]}"


class StateStore(Protocol):
    def load(self) -> CutoverState | None: ...

    def save(self, state: CutoverState) -> None: ...

    def lock(self, takeover: str | None = None) -> contextlib.AbstractContextManager[None]: ...

    def holder(self) -> str | None: ...

    @property
    def where(self) -> str:
        """Where the state is kept, for messages about it."""
        ...


def of_stack(state: CutoverState, stack: str, where: str) -> CutoverState:
    """``state`` when it records ``stack``; a state of another stack is refused, naming both."""
    if state.stack != stack:
        raise UsageError(
            f"{where} records the cutover of stack {state.stack}, not {stack}",
            f"pass --stack {state.stack}, or the state folder of stack {stack}",
        )
    return state


@dataclass
class FileStateStore:
    """State in ``<dir>/<stack>.json``; OS lock on ``<dir>/<stack>.lock``; holder in ``<dir>/<stack>.owner``."""

    directory: Path
    stack: str

    @property
    def path(self) -> Path:
        return self.directory / f"{self.stack}.json"

    @property
    def lock_path(self) -> Path:
        return self.directory / f"{self.stack}.lock"

    @property
    def owner_path(self) -> Path:
        return self.directory / f"{self.stack}.owner"

    def __post_init__(self) -> None:
        if self.directory.exists() and not self.directory.is_dir():
            raise UsageError(f"--local-state {self.directory} is a file", "pass a folder (it is created if missing)")

    def load(self) -> CutoverState | None:
        if not self.path.exists():
            return None
        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            text = "\x00"  # not text: reported as unreadable below, naming the file
        return of_stack(CutoverState.from_json(text, self.where), self.stack, self.where)

    @property
    def where(self) -> str:
        return str(self.path)

    def save(self, state: CutoverState) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, state.to_json())

    def holder(self) -> str | None:
        try:
            return self.owner_path.read_text().strip() or None
        except OSError:
            return None

    @contextlib.contextmanager
    def lock(self, takeover: str | None = None) -> Iterator[None]:
        # An OS lock cannot be taken from a live process; a dead one has already released it.
        self.directory.mkdir(parents=True, exist_ok=True)
        os_lock = FileLock(str(self.lock_path), timeout=0)
        try:
            os_lock.acquire()
        except Timeout:
            raise LockHeld(self.holder() or "a live process on this host (holder unknown)") from None
        try:
            write_atomic(self.owner_path, owner_id())
            yield
        finally:
            self.owner_path.unlink(missing_ok=True)
            os_lock.release()


@dataclass
class DynamoStateStore:
    """State and lock as two items (``pk = <stack>#state`` / ``<stack>#lock``) in the control table."""

    dynamodb: Any
    table: str
    stack: str
    lease_seconds: int = LEASE_SECONDS
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    clock: Callable[[], float] = time.time
    _owner: str | None = None
    _lost: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def _lock_key(self) -> dict:
        return {"pk": {"S": f"{self.stack}#lock"}}

    def load(self) -> CutoverState | None:
        item = call_naming(
            "reading the cutover state from", f"table {self.table}", self.dynamodb.get_item,
            TableName=self.table, Key={"pk": {"S": f"{self.stack}#state"}}, ConsistentRead=True,
        ).get("Item")  # fmt: skip
        if not item:
            return None
        return of_stack(CutoverState.from_json(item["state"]["S"], self.where), self.stack, self.where)

    @property
    def where(self) -> str:
        return f"the cutover state item {self.stack}#state in table {self.table}"

    def save(self, state: CutoverState) -> None:
        if self._lost:
            raise LockLost(self._lost, "check who holds the lock (cutover-status) before running again")
        call_with_retry(
            self.dynamodb.put_item,
            TableName=self.table,
            Item={"pk": {"S": f"{self.stack}#state"}, "state": {"S": state.to_json()}},
        )

    def holder(self) -> str | None:
        item = self.dynamodb.get_item(TableName=self.table, Key=self._lock_key, ConsistentRead=True).get("Item")
        return item["owner"]["S"] if item else None

    def renew(self) -> bool:
        """Extend this run's lease; False (and the run marked lost) when another run holds the lock now."""
        if not self._owner:
            return False
        try:
            call_with_retry(
                self.dynamodb.update_item,
                TableName=self.table,
                Key=self._lock_key,
                UpdateExpression="SET expires = :e",
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={
                    ":e": {"N": str(int(self.clock()) + self.lease_seconds)},
                    ":me": {"S": self._owner},
                },
            )
            return True
        except Exception as err:
            if error_code(err) != "ConditionalCheckFailedException":
                return True  # a transient failure: the lease still has time; the next beat retries
            self._lost = f"the cutover lock of {self.stack} was taken over by {self.holder() or 'another run'}"
            return False

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            if not self.renew():
                return

    @contextlib.contextmanager
    def lock(self, takeover: str | None = None) -> Iterator[None]:
        """Hold the lock (a renewed lease) for the block; ``takeover`` replaces that named holder."""
        me, now = owner_id(), int(self.clock())
        item = {**self._lock_key, "owner": {"S": me}, "expires": {"N": str(now + self.lease_seconds)}}
        if takeover:
            condition: dict[str, Any] = {
                "ConditionExpression": "attribute_not_exists(pk) OR #o = :holder OR expires < :now",
                "ExpressionAttributeNames": {"#o": "owner"},
                "ExpressionAttributeValues": {":holder": {"S": takeover}, ":now": {"N": str(now)}},
            }
        else:
            condition = {
                "ConditionExpression": "attribute_not_exists(pk) OR expires < :now",
                "ExpressionAttributeValues": {":now": {"N": str(now)}},
            }
        try:
            call_with_retry(self.dynamodb.put_item, TableName=self.table, Item=item, **condition)
        except Exception as err:
            if error_code(err) != "ConditionalCheckFailedException":
                raise
            held = self.dynamodb.get_item(TableName=self.table, Key=self._lock_key, ConsistentRead=True).get("Item", {})
            expires = float(held["expires"]["N"]) if "expires" in held else None
            raise LockHeld(held.get("owner", {}).get("S", "unknown"), expires) from None
        self._owner, self._lost = me, None
        self._stop.clear()
        beat = threading.Thread(target=self._heartbeat, name=f"cutover-lease-{self.stack}", daemon=True)
        beat.start()
        try:
            yield
        finally:
            self._stop.set()
            beat.join(timeout=5)
            self._owner = None
            with contextlib.suppress(Exception):  # taken over meanwhile: it is not ours to delete
                self.dynamodb.delete_item(
                    TableName=self.table,
                    Key=self._lock_key,
                    ConditionExpression="#o = :me",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":me": {"S": me}},
                )
