"""DMS-to-DynamoDB migration guardrails for pulumi-policy.

Importable without starting the analyzer: ``policies/__main__.py`` builds the PolicyPack,
``python -m dmsmig policy-check`` and the tests call the same rule objects directly.
"""

from .rules import POLICIES

PACK_NAME = "dms-migration-guardrails"
PACK_VERSION = "0.1.0"

__all__ = ["PACK_NAME", "PACK_VERSION", "POLICIES"]
