"""Lambda code of the service desk: HTTP blueprints, queue consumers, scheduled jobs,
domain logic, AWS adapters, pydantic models, settings and observability."""
