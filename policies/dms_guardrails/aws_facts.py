"""The AWS facts the rules read, from ``aws_facts.json`` (generated from dmsmig/contract/facts.py).

The pack runs under ``pulumi preview`` in its own virtualenv without the dmsmig package, so the
fact table reaches it as data; a test keeps the file equal to the table.
"""

from __future__ import annotations

import json
from pathlib import Path

AWS_FACTS = json.loads((Path(__file__).with_name("aws_facts.json")).read_text())
SSL_SUPPORT: dict[str, list[str]] = AWS_FACTS["sslSupport"]
SSL_NEEDS_CERTIFICATE = set(AWS_FACTS["sslNeedsCertificate"])
CDC_MIGRATION_TYPES = {t for t in AWS_FACTS["migrationTypes"] if t != AWS_FACTS["fullLoadOnly"]}
WRITES_PER_THREAD_PER_SECOND: int = AWS_FACTS["writesPerThreadPerSecond"]
ON_DEMAND_INITIAL_WRITE_UNITS: int = AWS_FACTS["onDemandInitialWriteUnits"]
