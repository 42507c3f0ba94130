"""Deployment of the models to SageMaker: model archives, endpoints, training jobs and a registry.

Nothing here runs on the Lambda path. `training` imports the SageMaker SDK inside its function
only; the other modules need boto3 and the standard library.
"""
