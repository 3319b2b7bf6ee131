"""The Pulumi program: build every component of a stack from its validated config.

``__main__.py`` calls :func:`run` under ``pulumi up``; ``python -m dmsmig plan`` and the
tests call :func:`build` under Pulumi's mock engine with the same config.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import (
    AssessmentResults,
    AssessmentResultsArgs,
    CutoverControl,
    CutoverControlArgs,
    DynamoTarget,
    DynamoTargetArgs,
    Monitoring,
    MonitoringArgs,
    PartitionedTaskGroup,
    PrivateEndpoints,
    PrivateEndpointsArgs,
    Replication,
    ReplicationArgs,
    ServerlessPlacement,
    SourceEndpoint,
    SourceEndpointArgs,
    StackKey,
    StackKeyArgs,
    TaskGroupArgs,
    TaskPlacement,
)
from dmsmig.config.stack import CONFIG_KEY, ConfigError, StackConfig, parse_migration
from dmsmig.model.packing import instance_bins


def build(stack: StackConfig) -> dict:
    """Declare the stack's resources; return the outputs to export."""
    cfg, region = stack.migration, stack.region
    tags = cfg.all_tags()
    account_id = aws.get_caller_identity_output().account_id

    key = StackKey("key", StackKeyArgs(config=cfg, account_id=account_id, tags=tags))
    control = CutoverControl("cutover", CutoverControlArgs(config=cfg, kms_key_arn=key.arn, tags=tags))
    outputs: dict = {
        # Operator commands refuse outputs whose identity is not the stack they were asked for.
        "stackIdentity": {
            "project": pulumi.get_project(),
            "stack": pulumi.get_stack(),
            "region": region,
            "account": account_id,
        },
        "readSwitchParameter": control.parameter_name,
        # The cutover targets this resource, read from the deployed stack, never from re-running the program.
        "readSwitchUrn": control.parameter_urn,
        "readsFrom": control.reads_from,
        "cutoverStateTable": control.state_table_name,
        "decommissioned": cfg.decommissioned,
    }
    if cfg.decommissioned:
        # Only the table (and the read switch) outlive the migration.
        target = DynamoTarget(
            "target",
            DynamoTargetArgs(config=cfg, region=region, kms_key_arn=key.arn, with_endpoint=False, tags=tags),
        )
        outputs.update({"tableName": target.table_name, "tableArn": target.table_arn})
        return outputs

    # Which instance each task runs on is decided before anything is declared.
    # Serverless groups need no instance: only instance tasks are packed.
    bins = instance_bins(cfg)
    endpoints = cfg.network.vpc_endpoints
    network_ready = []
    if endpoints.secrets_manager or endpoints.dynamodb:
        network_ready.append(PrivateEndpoints("network", PrivateEndpointsArgs(config=cfg, region=region, tags=tags)))
    replication = Replication(
        "replication",
        ReplicationArgs(
            config=cfg,
            region=region,
            kms_key_arn=key.arn,
            instance_count=len(bins),
            network_ready=network_ready,
            tags=tags,
        ),
    )
    placement_of = {}
    for instance_id, tasks in zip(replication.instance_ids, bins):
        for source, group, key_range in tasks:
            placement_of[(source.name, group.name, key_range.index)] = TaskPlacement(
                instance_id=instance_id, instance_arn=replication.instance_arn_by_id[instance_id]
            )

    target = DynamoTarget("target", DynamoTargetArgs(config=cfg, region=region, kms_key_arn=key.arn, tags=tags))
    target_endpoint_arn = target.endpoint_arn
    if target_endpoint_arn is None:  # only a decommissioned stack's target has no endpoint, and it returned above
        raise ValueError("the target was built without its DMS endpoint")

    source_arns, task_outputs, all_tasks = {}, {}, []
    for source in cfg.sources:
        endpoint = SourceEndpoint(
            f"source-{source.name}",
            SourceEndpointArgs(
                source=source,
                endpoint_id=f"{cfg.prefix}-source-{source.name}",
                region=region,
                kms_key_arn=key.arn,
                tags=tags,
            ),
        )
        source_arns[source.name] = endpoint.endpoint_arn
        for group in source.task_groups:
            task_group = PartitionedTaskGroup(
                f"tasks-{source.name}-{group.name}",
                TaskGroupArgs(
                    config=cfg,
                    source=source,
                    group=group,
                    source_endpoint_arn=endpoint.endpoint_arn,
                    target_endpoint_arn=target_endpoint_arn,
                    placements=[
                        placement_of[(source.name, group.name, r.index)]
                        for r in group.ranges()
                        if group.engine == "instance"
                    ],
                    serverless=ServerlessPlacement(subnet_group_id=replication.subnet_group_id, kms_key_arn=key.arn)
                    if group.engine == "serverless"
                    else None,
                    tags=tags,
                ),
            )
            task_outputs[f"{source.name}/{group.name}"] = task_group.tasks
            all_tasks.extend(task_group.tasks)

    if cfg.assessments.enabled:
        assessments = AssessmentResults(
            "assessments", AssessmentResultsArgs(config=cfg, region=region, account_id=account_id, tags=tags)
        )
        outputs.update({"assessmentBucket": assessments.bucket_name, "assessmentRoleArn": assessments.role_arn})

    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            config=cfg,
            region=region,
            account_id=account_id,
            kms_key_arn=key.arn,
            tasks=all_tasks,
            tags=tags,
        ),
    )
    outputs.update(
        {
            "instanceArns": replication.instance_arns,
            "instanceIds": replication.instance_ids,
            "kmsKeyArn": key.arn,
            "sourceEndpointArns": source_arns,
            "targetEndpointArn": target.endpoint_arn,
            "tableName": target.table_name,
            "tableArn": target.table_arn,
            "taskGroups": task_outputs,
            "topicArn": monitoring.topic_arn,
            "alarmNames": monitoring.alarm_names,
        }
    )
    return outputs


def stack_config_from_pulumi() -> StackConfig:
    """Read ``aws:region`` and ``<project>:migration`` through ``pulumi.Config``."""
    raw = pulumi.Config().get_object(CONFIG_KEY)
    region = pulumi.Config("aws").get("region") or ""
    if raw is None:
        raise ConfigError([f"{pulumi.get_project()}:{CONFIG_KEY}: missing; add it to Pulumi.{pulumi.get_stack()}.yaml"])
    if not region:
        raise ConfigError(["aws:region: missing; pulumi config set aws:region <region>"])
    return parse_migration(raw, region, f"Pulumi.{pulumi.get_stack()}.yaml")


def run() -> None:
    """Entry for ``pulumi up``: load config, build, export every output."""
    try:
        stack = stack_config_from_pulumi()
    except ConfigError as err:
        # pulumi.RunError prints the message without a Python stack trace.
        raise pulumi.RunError(str(err)) from None
    for key, value in build(stack).items():
        pulumi.export(key, value)
