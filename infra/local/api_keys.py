"""The partner API keys of the local stack, written beside the development token secret.

The template creates one API Gateway key per partner system (HrPartnerApiKey, ErpPartnerApiKey,
CrmPartnerApiKey). moto's CloudFormation skips API keys and usage plans, so the local stack
makes its own keys at every start and the local gateway accepts only those on the /partner
routes.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

# The partner systems of the template's usage plan.
PARTNERS = ("hr", "erp", "crm")
FILE_MODE = 0o600


def create_api_key_file(path: Path) -> dict[str, str]:
    """Write a new random key per partner to `path` (JSON, mode 0600) and return them by partner."""
    keys = {partner: secrets.token_urlsafe(30) for partner in PARTNERS}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(keys, handle, indent=2)
        handle.write("\n")
    os.chmod(partial, FILE_MODE)
    os.replace(partial, path)
    return keys


def read_api_key_file(path: Path) -> dict[str, str]:
    """Return the keys by partner; raise ValueError saying how to get them."""
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ValueError(f"no partner API keys at {path}: start the local stack (`make run`) first") from error
    if not isinstance(keys, dict) or not all(isinstance(value, str) and value for value in keys.values()):
        raise ValueError(f"{path} is not a JSON object of partner names to API keys; restart the local stack")
    return keys
