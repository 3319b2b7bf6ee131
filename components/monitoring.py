"""Notification topic, DMS event subscription, per-task alarms and a dashboard of the tasks.

DMS publishes no per-task "failed" metric, so the failure signal is built from DMS's own
EventBridge events: failure events of the stack's tasks land in a log group whose metric
filter counts them per task ARN; one alarm per task watches that count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from dmsmig.config.stack import MigrationConfig
from dmsmig.contract import facts
from dmsmig.model import iam_docs
from dmsmig.model.metrics import unit_metric_dimensions as metric_dimensions

TYPE = "dmsmig:monitoring:Monitoring"
FAILURE_METRIC = "TaskFailureEvents"


def metric_namespace(cfg: MigrationConfig) -> str:
    """Namespace of the stack's own failure metric."""
    return f"DMSMigration/{cfg.prefix}"


def task_arn_prefix(cfg: MigrationConfig, region: str, account_id: str) -> str:
    """Every task of the stack has an ARN starting with this (tasks set their resource identifier)."""
    return f"arn:aws:dms:{region}:{account_id}:task:{cfg.resource_prefix}-"


def replication_config_arn_prefix(cfg: MigrationConfig, region: str, account_id: str) -> str:
    """Every Serverless replication of the stack has an ARN starting with this (fact replication-config-arn)."""
    return f"arn:aws:dms:{region}:{account_id}:replication-config:{cfg.resource_prefix}-"


def failure_event_pattern(*arn_prefixes: str) -> str:
    """EventBridge pattern for failure events of the stack's tasks and replications; constant size at any count.

    No detail-type filter: tasks send "DMS Replication Task State Change", and the detail type of
    Serverless replications is not documented; the ARN prefixes keep it to this stack.
    """
    return json.dumps(
        {
            "source": ["aws.dms"],
            "detail": {"category": ["Failure"]},
            "resources": [{"prefix": prefix} for prefix in arn_prefixes],
        },
        sort_keys=True,
    )


def unit_metric_dimensions(unit: dict) -> dict[str, str]:
    """The AWS/DMS dimensions of a task record or a Serverless replication record."""
    return metric_dimensions(unit.get("kind", "task"), unit.get("instanceId"), unit["resourceId"])


def dashboard_body(cfg: MigrationConfig, region: str, tasks: list[dict]) -> str:
    """CloudWatch dashboard JSON: full-load throughput and CDC latency per task, and failures."""

    def task_metric(metric: str, task: dict) -> list:
        return ["AWS/DMS", metric, *(part for pair in unit_metric_dimensions(task).items() for part in pair)]

    def widgets(title: str, stat: str, metrics: list[list]) -> list[dict]:
        # A graph holds at most 100 metrics here (CloudWatch allows 500, but they become unreadable).
        return [
            {
                "type": "metric",
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title if len(metrics) <= 100 else f"{title} ({i // 100 + 1})",
                    "region": region,
                    "stat": stat,
                    "period": 60,
                    "metrics": metrics[i : i + 100],
                },
            }
            for i in range(0, len(metrics), 100)
        ]

    cdc = [t for t in tasks if t["migrationType"] != "full-load"]
    body = widgets(
        "Full load rows/s to target", "Average", [task_metric("FullLoadThroughputRowsTarget", t) for t in tasks]
    )
    body += widgets(
        "Task failure events", "Sum", [[metric_namespace(cfg), FAILURE_METRIC, "TaskArn", t["arn"]] for t in tasks]
    )
    body += widgets(
        "CDC latency (s)", "Maximum", [task_metric(m, t) for t in cdc for m in ("CDCLatencySource", "CDCLatencyTarget")]
    )
    serverless = [t for t in tasks if t.get("kind") == "serverless"]
    body += widgets(
        "Serverless capacity utilization (%)", "Maximum", [task_metric("CapacityUtilization", t) for t in serverless]
    )
    return json.dumps({"widgets": body}, sort_keys=True)


def _kind(unit: dict) -> str:
    return "Serverless replication" if unit.get("kind") == "serverless" else "task"


@dataclass
class MonitoringArgs:
    """Inputs of :class:`Monitoring`."""

    config: MigrationConfig
    region: str
    account_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    tasks: list[dict]
    """Task records from the task groups (taskId, arn, instanceId, migrationType)."""
    tags: dict[str, str] = field(default_factory=dict)


class Monitoring(pulumi.ComponentResource):
    """SNS topic and everything that notifies it about the stack's tasks."""

    topic_arn: pulumi.Output[str]
    alarm_names: list[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        cfg, mon = args.config, args.config.monitoring
        self._monitoring = mon
        child = pulumi.ResourceOptions(parent=self)

        topic = aws.sns.Topic(
            f"{name}-topic",
            name=f"{cfg.prefix}-dms-alerts",
            kms_master_key_id=args.kms_key_arn,
            tags=args.tags,
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.account_id).apply(lambda v: iam_docs.topic_policy(v[0], v[1])),
            opts=child,
        )
        if mon.alarm_email:
            aws.sns.TopicSubscription(
                f"{name}-email", topic=topic.arn, protocol="email", endpoint=mon.alarm_email, opts=child
            )
        instance_tasks = [t for t in args.tasks if t.get("kind") != "serverless"]
        serverless = [t for t in args.tasks if t.get("kind") == "serverless"]
        if instance_tasks:  # DMS event subscriptions cover instances and tasks, not Serverless replications
            aws.dms.EventSubscription(
                f"{name}-task-events",
                name=f"{cfg.prefix}-dms-task-events",
                sns_topic_arn=topic.arn,
                source_type="replication-task",
                source_ids=[t["taskId"] for t in instance_tasks],
                event_categories=["failure", "state change"],
                enabled=True,
                tags=args.tags,
                opts=child,
            )

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-failure-events",
            name=f"/aws/events/{cfg.prefix}-dms-task-failures",
            retention_in_days=90,
            tags=args.tags,
            opts=child,
        )
        aws.cloudwatch.LogResourcePolicy(
            f"{name}-failure-events-policy",
            policy_name=f"{cfg.prefix}-dms-task-failures",
            policy_document=log_group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]},
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                                "Resource": f"{arn}:*",
                            }
                        ],
                    },
                    sort_keys=True,
                )
            ),
            opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-failure-rule",
            name=f"{cfg.prefix}-dms-task-failures",
            description=f"Failure events of the DMS tasks of {cfg.prefix}",
            event_pattern=pulumi.Output.from_input(args.account_id).apply(
                lambda account: failure_event_pattern(
                    *(
                        prefix(cfg, args.region, account)
                        for prefix, used in (
                            (task_arn_prefix, instance_tasks),
                            (replication_config_arn_prefix, serverless),
                        )
                        if used
                    )
                )
            ),
            tags=args.tags,
            opts=child,
        )
        aws.cloudwatch.EventTarget(f"{name}-failure-to-logs", rule=rule.name, arn=log_group.arn, opts=child)
        aws.cloudwatch.EventTarget(f"{name}-failure-to-topic", rule=rule.name, arn=topic.arn, opts=child)
        aws.cloudwatch.LogMetricFilter(
            f"{name}-failure-metric",
            name=f"{cfg.prefix}-dms-task-failures",
            log_group_name=log_group.name,
            pattern='{ $.detail.category = "Failure" }',
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                name=FAILURE_METRIC,
                namespace=metric_namespace(cfg),
                value="1",
                unit="Count",
                dimensions={"TaskArn": "$.resources[0]"},
            ),
            opts=child,
        )

        self.alarm_names = []
        for task in args.tasks:
            alarm_name = f"{task['taskId']}-failed"
            aws.cloudwatch.MetricAlarm(
                f"{name}-{task['taskId']}-failed",
                name=alarm_name,
                alarm_description=f"DMS {_kind(task)} {task['taskId']} reported a failure event",
                namespace=metric_namespace(cfg),
                metric_name=FAILURE_METRIC,
                dimensions={"TaskArn": task["arn"]},
                statistic="Sum",
                period=mon.alarm_period_seconds,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[topic.arn],
                ok_actions=[topic.arn],
                tags=args.tags,
                opts=child,
            )
            self.alarm_names.append(alarm_name)
            if task.get("kind") == "serverless":
                self._dms_alarm(
                    f"{name}-{task['taskId']}-capacity",
                    f"{task['taskId']}-capacity",
                    f"Serverless replication {task['taskId']} uses over {facts.SERVERLESS_CAPACITY_ALARM_PERCENT}% "
                    "of its memory; at the maximum DCU it can fail: raise capacity.maxCapacityUnits",
                    "CapacityUtilization",
                    task,
                    facts.SERVERLESS_CAPACITY_ALARM_PERCENT,
                    topic.arn,
                    args.tags,
                )
            if task["migrationType"] != "full-load":
                self._dms_alarm(
                    f"{name}-{task['taskId']}-cdc-latency",
                    f"{task['taskId']}-cdc-latency",
                    f"CDC latency of {task['taskId']} above {mon.cdc_latency_threshold_seconds}s "
                    f"for {mon.evaluation_periods} periods",
                    "CDCLatencyTarget",
                    task,
                    mon.cdc_latency_threshold_seconds,
                    topic.arn,
                    args.tags,
                )

        if mon.dashboard:
            aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=f"{cfg.prefix}-dms-migration",
                dashboard_body=pulumi.Output.all(*[t["arn"] for t in args.tasks]).apply(
                    lambda arns: dashboard_body(
                        cfg, args.region, [{**t, "arn": arn} for t, arn in zip(args.tasks, arns)]
                    )
                ),
                opts=child,
            )
        self.topic_arn = topic.arn
        self.register_outputs({"topicArn": self.topic_arn, "alarmNames": self.alarm_names})

    def _dms_alarm(
        self,
        resource_name: str,
        alarm_name: str,
        description: str,
        metric: str,
        unit: dict,
        threshold: float,
        topic_arn: pulumi.Output[str],
        tags: dict[str, str],
    ) -> None:
        """An alarm on one AWS/DMS metric of a task or Serverless replication, above ``threshold`` for a while."""
        mon = self._monitoring
        aws.cloudwatch.MetricAlarm(
            resource_name,
            name=alarm_name,
            alarm_description=description,
            namespace="AWS/DMS",
            metric_name=metric,
            dimensions=unit_metric_dimensions(unit),
            statistic="Maximum",
            period=mon.alarm_period_seconds,
            evaluation_periods=mon.evaluation_periods,
            threshold=threshold,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="missing",
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alarm_names.append(alarm_name)
