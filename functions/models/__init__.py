"""Pydantic models for requests, responses, stored records and events."""
