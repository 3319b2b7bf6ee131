"""Digests of DynamoDB items in a canonical form, and order-independent chunk sums (full validation).

Both sides of a full validation reduce an item to 16 bytes: the item DMS writes for a source row
(:mod:`dmsmig.model.dms_semantics`) and the item a Scan returns. The canonical form makes equal
items equal bytes: attribute names sorted, numbers as DynamoDB stores them (no leading or trailing
zeroes: ``1.50`` and ``1.5`` are one number), strings as UTF-8, binary as base64, sets sorted, NULL
attributes absent on both sides (DMS writes none). A chunk's digest is the count and the sum of its
items' digests modulo 2**128: the sum does not depend on the order a parallel scan returns items
in, so shards computed on different machines add up (``validate --merge``), and, unlike XOR, two
equal items do not cancel.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dmsmig.model.dms_semantics import number_text

MODULUS = 1 << 128
CHUNKS = 4096
"""Chunks per partition: a key's chunk is ``key mod CHUNKS`` (the sums hold 4,096 entries a partition
whatever the rows, and a chunk that differs holds about rows/4,096 keys to examine)."""


def _canonical(value: dict) -> Any:
    ((kind, inner),) = value.items()
    if kind == "N":
        return ["N", number_text(Decimal(inner))]
    if kind == "B":
        return ["B", base64.b64encode(inner if isinstance(inner, bytes) else inner.encode()).decode()]
    if kind == "M":
        return ["M", {k: _canonical(v) for k, v in sorted(inner.items())}]
    if kind == "L":
        return ["L", [_canonical(v) for v in inner]]
    if kind == "NS":
        return ["NS", sorted(number_text(Decimal(v)) for v in inner)]
    if kind in ("SS", "BS"):
        return [kind, sorted(base64.b64encode(v).decode() if isinstance(v, bytes) else v for v in inner)]
    return [kind, inner]


def canonical(item: dict[str, dict]) -> bytes:
    """The item's canonical bytes (DynamoDB JSON in; NULL attributes left out)."""
    body = {name: _canonical(value) for name, value in sorted(item.items()) if "NULL" not in value}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def digest(item: dict[str, dict]) -> int:
    """128 bits of the SHA-256 of the canonical form."""
    return int.from_bytes(hashlib.sha256(canonical(item)).digest()[:16], "big")


def chunk_of(key: int) -> int:
    return key % CHUNKS


@dataclass
class ChunkSum:
    """Items counted in one chunk and the sum of their digests (mod 2**128)."""

    count: int = 0
    total: int = 0

    def add(self, value: int) -> None:
        self.count += 1
        self.total = (self.total + value) % MODULUS

    def merge(self, other: ChunkSum) -> None:
        self.count += other.count
        self.total = (self.total + other.total) % MODULUS
