"""Resources of the service desk: CloudFormation, packaging and the local stack."""
