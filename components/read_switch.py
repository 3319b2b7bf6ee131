"""The read switch: an SSM parameter applications read to choose their data store."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from dmsmig.config import MigrationConfig

TYPE = "dmsmig:cutover:ReadSwitchParameter"


@dataclass
class ReadSwitchArgs:
    """Inputs of :class:`ReadSwitchParameter`."""

    config: MigrationConfig
    tags: dict[str, str] = field(default_factory=dict)


class ReadSwitchParameter(pulumi.ComponentResource):
    """``source`` or ``dynamodb``, flipped by the cutover command through stack config."""

    parameter_name: pulumi.Output[str]
    reads_from: str

    def __init__(self, name: str, args: ReadSwitchArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cfg = args.config
        parameter = aws.ssm.Parameter(
            f"{name}-parameter",
            name=cfg.read_switch_parameter,
            type="String",
            value=cfg.read_switch.reads_from,
            allowed_pattern="^(source|dynamodb)$",
            description=f"Where {cfg.service} reads events from during the migration ({cfg.environment})",
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.parameter_name = parameter.name
        self.reads_from = cfg.read_switch.reads_from
        self.register_outputs({"parameterName": self.parameter_name, "readsFrom": self.reads_from})
