"""boto3 clients, created on first use and kept for the life of the container."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=10)


@lru_cache(maxsize=None)
def client(service_name: str) -> Any:
    """Return the shared boto3 client of a service, using the environment's region and endpoint."""
    return boto3.session.Session().client(service_name, config=_CONFIG)


def reset_clients() -> None:
    """Forget every cached client, so that the next call uses the current endpoint and credentials."""
    client.cache_clear()
