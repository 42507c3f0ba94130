"""Models of the service desk, one package each, in SageMaker script-mode layout."""
