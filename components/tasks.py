"""N replication tasks over one source object, each with its generated range mapping."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from dmsmig.config.mapping_spec import build_table_mappings
from dmsmig.config.stack import MigrationConfig, Source, TaskGroup

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
class TaskGroupArgs:
    """Inputs of :class:`PartitionedTaskGroup`."""

    config: MigrationConfig
    source: Source
    group: TaskGroup
    source_endpoint_arn: pulumi.Input[str]
    target_endpoint_arn: pulumi.Input[str]
    placements: list[TaskPlacement]
    """One per partition, in partition order."""
    tags: dict[str, str] = field(default_factory=dict)


class PartitionedTaskGroup(pulumi.ComponentResource):
    """One DMS task per key range; mappings come from the group's spec, settings from the model."""

    tasks: list[dict]
    """``taskId``, ``resourceId``, ``arn``, ``instanceId``, ``range`` and ``migrationType`` per partition."""

    def __init__(self, name: str, args: TaskGroupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cfg, source, group = args.config, args.source, args.group
        ranges = group.ranges()
        if len(args.placements) != len(ranges):
            raise ValueError(f"{name}: {len(ranges)} partitions but {len(args.placements)} placements")
        settings_json = cfg.settings_for(group).to_json(group.migration_type)
        self.tasks = []
        for key_range, placement in zip(ranges, args.placements):
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
                # Tasks are started by `python -m dmsmig start`, never by a deployment.
                start_replication_task=False,
                tags={**args.tags, "TaskGroup": f"{source.name}/{group.name}", "Partition": str(key_range.index + 1)},
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.tasks.append(
                {
                    "taskId": task_id,
                    "resourceId": resource_id,
                    "arn": task.replication_task_arn,
                    "instanceId": placement.instance_id,
                    "migrationType": group.migration_type,
                    "range": key_range.as_output(),
                    # Compared by `plan --outputs-file`: changing either stops a running task on update.
                    "definitionHash": definition_hash(settings_json, table_mappings, group.migration_type),
                }
            )
        self.register_outputs({"tasks": self.tasks})
