"""Operating a deployed migration: stack outputs, AWS clients, and the DMS/Secrets/CloudWatch steps.

Pure decisions (which start call, when a load is done) live in :mod:`dmsmig.ops.decisions`;
everything that talks to AWS takes its clients from :class:`dmsmig.ops.aws.AwsClients`.
"""
