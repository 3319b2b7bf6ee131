"""Where cutover state lives, and the lock that keeps two operators from running at once.

- :class:`DynamoStateStore` (real runs): items in the stack's small control table
  ``<env>-<service>-dmsmig-cutover``. DynamoDB conditional writes make taking the lock atomic
  (SSM parameters have no compare-and-set), the lease expires so a crashed run does not leave a
  lock that needs hand-editing, and the holder is named in the refusal.
- :class:`FileStateStore` (rehearsals): a JSON file and an ``O_EXCL`` lock file; a lock whose
  process is gone on this host is taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dmsmig.cutover.machine import CutoverState
from dmsmig.ops.errors import error_code
from dmsmig.ops.retry import call_with_retry

LEASE_SECONDS = 2 * 60 * 60  # renewed at every state save


class LockHeld(Exception):
    """Another run holds the lock; ``holder`` says who."""

    def __init__(self, holder: str):
        self.holder = holder
        super().__init__(f"another cutover run holds the lock: {holder}")


def owner_id() -> str:
    return f"{os.environ.get('USER', 'unknown')}@{socket.gethostname()} pid {os.getpid()}"


class StateStore(Protocol):
    def load(self) -> CutoverState | None: ...

    def save(self, state: CutoverState) -> None: ...

    def lock(self) -> contextlib.AbstractContextManager[None]: ...


@dataclass
class FileStateStore:
    """State in ``<dir>/<stack>.json``, lock in ``<dir>/<stack>.lock``."""

    directory: Path
    stack: str

    @property
    def path(self) -> Path:
        return self.directory / f"{self.stack}.json"

    @property
    def lock_path(self) -> Path:
        return self.directory / f"{self.stack}.lock"

    def load(self) -> CutoverState | None:
        return CutoverState.from_json(self.path.read_text()) if self.path.exists() else None

    def save(self, state: CutoverState) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(state.to_json())
        os.replace(tmp, self.path)  # atomic: a crash never leaves half a state file

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        me = {"owner": owner_id(), "pid": os.getpid(), "host": socket.gethostname(), "at": time.time()}
        for _attempt in range(2):
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = self._holder()
                if holder and holder.get("host") == socket.gethostname() and not _alive(holder.get("pid", -1)):
                    self.lock_path.unlink(missing_ok=True)  # its process died: take over
                    continue
                raise LockHeld(holder.get("owner", "unknown") if holder else "unknown") from None
            with os.fdopen(fd, "w") as handle:
                json.dump(me, handle)
            break
        try:
            yield
        finally:
            self.lock_path.unlink(missing_ok=True)

    def _holder(self) -> dict | None:
        try:
            return json.loads(self.lock_path.read_text())
        except (FileNotFoundError, ValueError):
            return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class DynamoStateStore:
    """State and lock as two items (``pk = <stack>#state`` / ``<stack>#lock``) in the control table."""

    dynamodb: Any
    table: str
    stack: str
    lease_seconds: int = LEASE_SECONDS
    _owner: str | None = None

    def load(self) -> CutoverState | None:
        item = call_with_retry(
            self.dynamodb.get_item, TableName=self.table, Key={"pk": {"S": f"{self.stack}#state"}}, ConsistentRead=True
        ).get("Item")
        return CutoverState.from_json(item["state"]["S"]) if item else None

    def save(self, state: CutoverState) -> None:
        call_with_retry(
            self.dynamodb.put_item,
            TableName=self.table,
            Item={"pk": {"S": f"{self.stack}#state"}, "state": {"S": state.to_json()}},
        )
        if self._owner:  # a live run renews its lease with every save
            call_with_retry(
                self.dynamodb.update_item,
                TableName=self.table,
                Key={"pk": {"S": f"{self.stack}#lock"}},
                UpdateExpression="SET expires = :e",
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={
                    ":e": {"N": str(int(time.time()) + self.lease_seconds)},
                    ":me": {"S": self._owner},
                },
            )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        me, now = owner_id(), int(time.time())
        key = {"pk": {"S": f"{self.stack}#lock"}}
        try:
            call_with_retry(
                self.dynamodb.put_item,
                TableName=self.table,
                Item={**key, "owner": {"S": me}, "expires": {"N": str(now + self.lease_seconds)}},
                ConditionExpression="attribute_not_exists(pk) OR expires < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except Exception as err:
            if error_code(err) != "ConditionalCheckFailedException":
                raise
            item = self.dynamodb.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item", {})
            raise LockHeld(item.get("owner", {}).get("S", "unknown")) from None
        self._owner = me
        try:
            yield
        finally:
            self._owner = None
            self.dynamodb.delete_item(
                TableName=self.table,
                Key=key,
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": me}},
            )
