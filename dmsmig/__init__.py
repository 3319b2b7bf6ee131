"""dmsmig: declare, check and drive an AWS DMS migration into DynamoDB with Pulumi."""
