"""N replication tasks over one source object, each with its generated range mapping."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from dmsmig.config.mapping_spec import build_table_mappings
from dmsmig.config.stack import MigrationConfig, Source, TaskGroup
from dmsmig.model import load

TYPE = "dmsmig:tasks:PartitionedTaskGroup"


def definition_hash(settings_json: str, table_mappings: str, migration_type: str) -> str:
    """A short digest of what ModifyReplicationTask would change (settings, mappings, migration type)."""
    return hashlib.sha256("\n".join((settings_json, table_mappings, migration_type)).encode()).hexdigest()[:16]


@dataclass
class TaskPlacement:
    """The replication instance a task runs on."""

    instance_id: str
    instance_arn: pulumi.Input[str]


@dataclass
class ServerlessPlacement:
    """Where a group's DMS Serverless replications run: the stack's subnet group, security groups and key."""

    subnet_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]


@dataclass
class TaskGroupArgs:
    """Inputs of :class:`PartitionedTaskGroup`."""

    config: MigrationConfig
    source: Source
    group: TaskGroup
    source_endpoint_arn: pulumi.Input[str]
    target_endpoint_arn: pulumi.Input[str]
    placements: list[TaskPlacement] = field(default_factory=list)
    """engine instance: one per partition, in partition order."""
    serverless: ServerlessPlacement | None = None
    """engine serverless: the compute config's network and key."""
    tags: dict[str, str] = field(default_factory=dict)


class PartitionedTaskGroup(pulumi.ComponentResource):
    """One DMS task or Serverless replication per key range; mappings from the spec, settings from the model."""

    tasks: list[dict]
    """``taskId``, ``resourceId``, ``arn``, ``kind``, ``instanceId``, ``range`` and ``migrationType`` per partition."""

    def __init__(self, name: str, args: TaskGroupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cfg, source, group = args.config, args.source, args.group
        ranges = group.ranges()
        serverless = group.engine == "serverless"
        if serverless and args.serverless is None:
            raise ValueError(f"{name}: a serverless group needs its ServerlessPlacement")
        if not serverless and len(args.placements) != len(ranges):
            raise ValueError(f"{name}: {len(ranges)} partitions but {len(args.placements)} placements")
        settings_json = cfg.settings_for(group).to_json(group.migration_type)
        self.tasks = []
        for key_range in ranges:
            task_id = cfg.task_id(source.name, group.name, key_range.index)
            resource_id = cfg.task_resource_id(source.name, group.name, key_range.index)
            mappings = build_table_mappings(
                group.spec,
                target_table=cfg.target.table_name,
                partition_key=cfg.target.partition_key,
                sort_key=cfg.target.sort_key,
                key_range=key_range,
            )
            table_mappings = json.dumps(mappings, sort_keys=True)
            tags = {**args.tags, "TaskGroup": f"{source.name}/{group.name}", "Partition": str(key_range.index + 1)}
            rows = group.rows_per_partition()
            if rows is not None and group.estimate is not None:  # the load model's input, for the policy pack
                tags[load.ESTIMATE_TAG] = load.estimate_tag(rows, group.estimate.average_row_bytes)
            child = pulumi.ResourceOptions(parent=self)
            if serverless:
                arn = self._replication_config(
                    f"{name}-p{key_range.index + 1}", args, task_id, resource_id, table_mappings, settings_json, tags
                )
                instance_id = None
            else:
                placement = args.placements[key_range.index]
                task = aws.dms.ReplicationTask(
                    f"{name}-p{key_range.index + 1}",
                    replication_task_id=task_id,
                    # A fixed resource identifier makes the ARN and CloudWatch dimension predictable;
                    # AWS allows 31 characters, so it is the short form (config validation checks it).
                    resource_identifier=resource_id,
                    migration_type=group.migration_type,
                    replication_instance_arn=placement.instance_arn,
                    source_endpoint_arn=args.source_endpoint_arn,
                    target_endpoint_arn=args.target_endpoint_arn,
                    table_mappings=table_mappings,
                    replication_task_settings=settings_json,
                    cdc_start_position=group.cdc_start_position,
                    # Tasks are started by `python -m dmsmig start`, never by a deployment.
                    start_replication_task=False,
                    tags=tags,
                    opts=child,
                )
                arn = task.replication_task_arn
                instance_id = placement.instance_id
            self.tasks.append(
                {
                    "taskId": task_id,
                    "resourceId": resource_id,
                    "arn": arn,
                    "kind": "serverless" if serverless else "task",
                    "instanceId": instance_id,
                    "migrationType": group.migration_type,
                    "range": key_range.as_output(),
                    # Compared by `plan --outputs-file`: changing either stops a running task on update.
                    "definitionHash": definition_hash(settings_json, table_mappings, group.migration_type),
                }
            )
        self.register_outputs({"tasks": self.tasks})

    def _replication_config(
        self,
        resource_name: str,
        args: TaskGroupArgs,
        config_id: str,
        resource_id: str,
        table_mappings: str,
        settings_json: str,
        tags: dict[str, str],
    ) -> pulumi.Output[str]:
        cfg, group, placement = args.config, args.group, args.serverless
        assert placement is not None and group.capacity is not None
        config = aws.dms.ReplicationConfig(
            resource_name,
            replication_config_identifier=config_id,
            resource_identifier=resource_id,
            replication_type=group.migration_type,
            source_endpoint_arn=args.source_endpoint_arn,
            target_endpoint_arn=args.target_endpoint_arn,
            table_mappings=table_mappings,
            replication_settings=settings_json,
            compute_config=aws.dms.ReplicationConfigComputeConfigArgs(
                replication_subnet_group_id=placement.subnet_group_id,
                vpc_security_group_ids=cfg.network.security_group_ids,
                kms_key_id=placement.kms_key_arn,
                multi_az=cfg.multi_az,
                max_capacity_units=group.capacity.max_capacity_units,
                min_capacity_units=group.capacity.min_capacity_units,
                preferred_maintenance_window=cfg.replication.maintenance_window,
            ),
            # Started by `python -m dmsmig start`; the provider stops a running replication to modify it
            # and restarts it only when this is true, so updates leave it stopped (plan warns).
            start_replication=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return config.arn
