"""The AWS facts the rules read, from ``aws_facts.json`` (generated from dmsmig/contract/facts.py).

The pack runs under ``pulumi preview`` in its own virtualenv, which installs the dmsmig package
without its dependencies (for the standard-library load model); the fact table needs botocore,
so it reaches the pack as data, and a test keeps the file equal to the table.
"""

from __future__ import annotations

import json
from pathlib import Path

from dmsmig.model import load

AWS_FACTS = json.loads((Path(__file__).with_name("aws_facts.json")).read_text())
SSL_SUPPORT: dict[str, list[str]] = AWS_FACTS["sslSupport"]
SSL_NEEDS_CERTIFICATE = set(AWS_FACTS["sslNeedsCertificate"])
CDC_MIGRATION_TYPES = {t for t in AWS_FACTS["migrationTypes"] if t != AWS_FACTS["fullLoadOnly"]}
LOAD_FACTS = load.Facts(**AWS_FACTS["loadModel"])
"""The figures of plan's load model, which the pack runs as it is (dmsmig.model.load)."""
