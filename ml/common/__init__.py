"""Helpers shared by the model packages: data location, artifacts and metadata."""
