"""Pulumi components of the migration stack; each takes a typed args object."""

from components.key import StackKey, StackKeyArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.read_switch import ReadSwitchArgs, ReadSwitchParameter
from components.replication import Replication, ReplicationArgs
from components.source import SourceEndpoint, SourceEndpointArgs
from components.target import DynamoTarget, DynamoTargetArgs
from components.tasks import PartitionedTaskGroup, TaskGroupArgs, TaskPlacement

__all__ = [
    "DynamoTarget",
    "DynamoTargetArgs",
    "Monitoring",
    "MonitoringArgs",
    "PartitionedTaskGroup",
    "ReadSwitchArgs",
    "ReadSwitchParameter",
    "Replication",
    "ReplicationArgs",
    "SourceEndpoint",
    "StackKey",
    "StackKeyArgs",
    "SourceEndpointArgs",
    "TaskGroupArgs",
    "TaskPlacement",
]
