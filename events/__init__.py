"""Event contracts (JSON Schemas generated from the pydantic models) and sample events."""
