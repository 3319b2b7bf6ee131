"""Policy pack entry for `pulumi preview --policy-pack policies`.

Constructing PolicyPack starts the analyzer server and never returns, so the rules live in
the importable `dms_guardrails` package and this file only wires them up.
"""

from dms_guardrails import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
