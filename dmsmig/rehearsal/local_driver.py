"""The read switch of a rehearsal: a copy of the stack file and the parameter in the local AWS.

A rehearsal writes its outputs file with a ``rehearsal`` marker (the folder holding its copy of the
project and the local endpoint). :func:`driver_for` gives :class:`LocalDriver` only to such outputs,
and only when the command talks to that same loopback endpoint; every other stack gets the real
Pulumi driver, so a real stack can never have its reads switched by a file edit.

``set_and_apply`` does what ``pulumi up --target <urn>`` does for the read switch: it sets the
value in the copied stack file, builds the program offline from it and sends the create request
of the one targeted resource (the SSM parameter, overwritten) to the local AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore import xform_name

from dmsmig.config.stack import load_stack_config, project_name
from dmsmig.config.stack_file import set_migration_value
from dmsmig.contract.requests import requests_for
from dmsmig.cutover.driver import READS_FROM, AutomationDriver, StackDriver
from dmsmig.ops.errors import OpsError, UsageError

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class LocalDriver:
    """:class:`dmsmig.cutover.driver.StackDriver` over a rehearsal's project copy and local SSM."""

    stack: str
    project_dir: Path
    ssm: Any
    endpoint_url: str = ""

    @property
    def context(self) -> str:
        return f"rehearsal on a local AWS at {self.endpoint_url} (moto + emulated DMS)"

    def get(self, path: str) -> Any:
        node: Any = load_stack_config(self.stack, self.project_dir).migration.model_dump(by_alias=True)
        for name in path.split("."):
            node = node.get(name) if isinstance(node, dict) else None
        return node

    def set_and_apply(self, path: str, value: Any, only: list[str] | None = None) -> list[str]:
        from dmsmig.offline.mock_engine import run_program

        if path != READS_FROM or not only:
            raise OpsError(
                f"a rehearsal applies only the read switch, not {path}",
                "decommission a real stack with the Pulumi CLI; a rehearsal's resources go with it",
            )
        set_migration_value(self.stack, path, value, self.project_dir)
        run = run_program(
            load_stack_config(self.stack, self.project_dir),
            stack_name=self.stack,
            project=project_name(self.project_dir),
        )
        lines = []
        for resource in run.resources:
            if resource.urn not in only:
                continue
            for request in requests_for(resource):
                params = dict(request.params)
                if request.operation == "PutParameter":  # an update, as the provider sends it: no tags
                    params["Overwrite"] = True
                    params.pop("Tags", None)
                getattr(self.ssm, xform_name(request.operation))(**params)
                lines.append(f"local {request.service} {request.operation} {params.get('Name', '')} = {value}")
        if not lines:
            raise OpsError(f"the rehearsal's program declares none of {only}", "rehearse again from the start")
        return [f"rehearsal: {self.project_dir / f'Pulumi.{self.stack}.yaml'} {path}={value}", *lines]


def is_loopback(url: str | None) -> bool:
    return url is not None and (urlparse(url).hostname or "") in LOOPBACK_HOSTS


MARKER = "rehearsal"
"""The key of a rehearsal's outputs file naming its project copy and local endpoint (no deployed stack has it)."""


def rehearsal_marker(outputs_file: Path | None) -> dict[str, str] | None:
    """The rehearsal marker of an outputs file, or None (no file: the Automation API's outputs of a real stack)."""
    if outputs_file is None:
        return None
    try:  # the operator commands have read and checked this file already
        document = json.loads(outputs_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    marker = document.get(MARKER) if isinstance(document, dict) else None
    return marker if isinstance(marker, dict) else None


def driver_for(
    stack: str, project_dir: Path, outputs_file: Path | None, endpoint_url: str | None, ssm: Any
) -> StackDriver:
    """The Pulumi driver, or for a rehearsal's outputs used against that rehearsal's local AWS, the local one."""
    marker = rehearsal_marker(outputs_file)
    if not marker:
        return AutomationDriver(stack, project_dir)
    if not is_loopback(endpoint_url) or endpoint_url != marker.get("endpointUrl"):
        raise UsageError(
            f"these outputs are a rehearsal's (local AWS at {marker.get('endpointUrl')}), not a deployed stack's",
            f"pass --endpoint-url {marker.get('endpointUrl')} to act on the rehearsal, or the stack's real outputs",
        )
    return LocalDriver(stack, Path(marker["projectDir"]), ssm, str(endpoint_url))
