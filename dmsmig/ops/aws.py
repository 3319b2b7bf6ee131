"""One factory for every AWS client, so an emulator endpoint or profile applies everywhere."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config

from dmsmig.ops.errors import UsageError

ENDPOINT_ENV = "DMSMIG_AWS_ENDPOINT_URL"


def check_endpoint_url(url: str, where: str) -> str:
    """``url`` when it is an http(s) URL with a host (what botocore accepts), else a UsageError naming ``where``."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError(
            f"{where} {url!r} is not an http(s) URL with a host",
            "e.g. http://127.0.0.1:5000 (the URL a rehearsal --keep prints)",
        )
    try:
        parsed.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise UsageError(f"{where} {url!r} has an invalid port", "use a port from 1 to 65535") from None
    return url


@dataclass
class AwsClients:
    """Creates (and caches) boto3 clients for one region.

    ``endpoint_url`` (or ``DMSMIG_AWS_ENDPOINT_URL``) points every client at a local emulator
    such as ``moto_server``. Botocore's own retries stay on in "standard" mode; throttling that
    outlasts them is retried by :func:`dmsmig.ops.retry.call_with_retry`.
    """

    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    session: Any = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.endpoint_url:
            check_endpoint_url(self.endpoint_url, "--endpoint-url")
        elif os.environ.get(ENDPOINT_ENV):
            self.endpoint_url = check_endpoint_url(os.environ[ENDPOINT_ENV], ENDPOINT_ENV)
        if self.session is None:
            self.session = boto3.session.Session(profile_name=self.profile, region_name=self.region)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service,
                region_name=self.region,
                endpoint_url=self.endpoint_url,
                config=Config(retries={"mode": "standard", "max_attempts": 3}, user_agent_extra="dmsmig"),
            )
        return self._clients[service]

    @property
    def dms(self) -> Any:
        return self.client("dms")

    @property
    def secrets(self) -> Any:
        return self.client("secretsmanager")

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def cloudwatch(self) -> Any:
        return self.client("cloudwatch")

    @property
    def iam(self) -> Any:
        return self.client("iam")

    @property
    def ssm(self) -> Any:
        return self.client("ssm")

    @property
    def sts(self) -> Any:
        return self.client("sts")

    @property
    def ec2(self) -> Any:
        return self.client("ec2")

    @property
    def s3(self) -> Any:
        return self.client("s3")


def operator_description(clients: Any) -> str:
    """Who runs a command: the AWS caller identity's ARN and user@host (the ARN alone may be a shared role)."""
    import getpass
    import socket

    try:
        arn = clients.sts.get_caller_identity()["Arn"]
    except Exception:  # noqa: BLE001 - the record says it could not tell, the run goes on
        arn = "unknown AWS caller"
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        user = "unknown"
    return f"{arn} ({user}@{socket.gethostname()})"
