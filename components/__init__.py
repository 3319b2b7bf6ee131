"""Pulumi components of the migration stack; each takes a typed args object."""

from components.assessments import AssessmentResults, AssessmentResultsArgs
from components.cutover_control import CutoverControl, CutoverControlArgs
from components.key import StackKey, StackKeyArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.network import PrivateEndpoints, PrivateEndpointsArgs
from components.replication import Replication, ReplicationArgs
from components.source import SourceEndpoint, SourceEndpointArgs
from components.target import DynamoTarget, DynamoTargetArgs
from components.tasks import PartitionedTaskGroup, ServerlessPlacement, TaskGroupArgs, TaskPlacement

__all__ = [
    "AssessmentResults",
    "AssessmentResultsArgs",
    "CutoverControl",
    "CutoverControlArgs",
    "DynamoTarget",
    "DynamoTargetArgs",
    "Monitoring",
    "MonitoringArgs",
    "PartitionedTaskGroup",
    "PrivateEndpoints",
    "PrivateEndpointsArgs",
    "Replication",
    "ReplicationArgs",
    "SourceEndpoint",
    "StackKey",
    "StackKeyArgs",
    "SourceEndpointArgs",
    "TaskGroupArgs",
    "ServerlessPlacement",
    "TaskPlacement",
]
