"""What every operator step needs, loaded once: stack config, its outputs, AWS clients, source engines.

The two seams tests replace live here: :func:`make_clients` (AWS clients) and the outputs source
(Automation API, or a ``pulumi stack output --json`` file). Outputs that belong to another stack
are refused before any client is used (:func:`dmsmig.ops.outputs.verify_identity`).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from dmsmig.config.stack import PROJECT_DIR, Source, StackConfig, load_stack_config, project_name
from dmsmig.ops.aws import AwsClients
from dmsmig.ops.errors import OpsError, UsageError
from dmsmig.ops.outputs import (
    AutomationOutputs,
    OutputsFile,
    StackOutputs,
    load_outputs,
    verify_account,
    verify_identity,
)
from dmsmig.ops.retry import call_naming
from dmsmig.ops.source_db import connect, url_from_secret

URL_ENV = "DMSMIG_SOURCE_URL"


def make_clients(region: str, profile: str | None, endpoint_url: str | None) -> AwsClients:
    """The AWS client factory (replaced in tests)."""
    return AwsClients(region=region, profile=profile, endpoint_url=endpoint_url)


def read_outputs(stack: str, outputs_file: Path | None, project_dir: Path) -> StackOutputs:
    """Stack outputs from the file when given, else from the Automation API."""
    source = OutputsFile(outputs_file) if outputs_file else AutomationOutputs(stack, project_dir)
    return load_outputs(source)


class OpsContext:
    """Stack config, the stack's own outputs (identity verified) and AWS clients for one command."""

    def __init__(
        self,
        stack: str,
        outputs_file: Path | None,
        project_dir: Path = PROJECT_DIR,
        profile: str | None = None,
        endpoint_url: str | None = None,
        need_outputs: bool = True,
    ):
        self.stack = stack
        self.outputs_file = outputs_file
        """The outputs file the command was given (None: the Automation API's outputs)."""
        self.stack_file = project_dir / f"Pulumi.{stack}.yaml"
        self.config: StackConfig = load_stack_config(stack, project_dir)
        self._outputs = read_outputs(stack, outputs_file, project_dir) if need_outputs else None
        if self._outputs is not None:
            where = str(outputs_file) if outputs_file else f"the Automation API outputs of {stack}"
            verify_identity(self._outputs, project_name(project_dir), stack, self.config.region, where)
        self._profile, self._endpoint_url = profile, endpoint_url

    @property
    def endpoint_url(self) -> str | None:
        """The --endpoint-url the commands send AWS calls to (None: AWS itself)."""
        return self._endpoint_url

    @cached_property
    def clients(self) -> AwsClients:
        """AWS clients for the stack's region, made on first use (a data command may need none)."""
        clients = make_clients(self.config.region, self._profile, self._endpoint_url)
        if self._outputs is not None and self._outputs.identity is not None:
            account = clients.sts.get_caller_identity()["Account"]
            verify_account(self._outputs, account, self.stack)
        return clients

    @property
    def outputs(self) -> StackOutputs:
        if self._outputs is None:
            raise OpsError("this command was set up without stack outputs")
        return self._outputs


def source_engine(ops: OpsContext, source: Source, database_url: str | None, from_secret: bool):
    """A SQLAlchemy engine for ``source``: from its secret, ``--database-url`` or DMSMIG_SOURCE_URL."""
    if from_secret:
        secret_id = source.secret.arn or source.secret.name
        secret = call_naming(
            "reading the source credentials from", f"secret {secret_id}", ops.clients.secrets.get_secret_value,
            SecretId=secret_id,
        )["SecretString"]
        return connect(url_from_secret(secret, source))
    url = database_url or os.environ.get(URL_ENV)
    if not url:
        raise UsageError("no source database given", f"pass --database-url, set {URL_ENV}, or use --from-secret")
    return connect(url)
