"""The signing secret of the local stack's development tokens, and minting tokens with it.

The local stack writes a new random secret to a file (mode 0600) at every start and gives it to
the API as DEV_TOKEN_SECRET. `servicedesk token`, the replay commands and the end-to-end tests
read the file to sign their tokens, so a token from an earlier run stops working.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from functions.api.auth import mint_dev_token
from functions.settings import MIN_DEV_TOKEN_SECRET_BYTES, Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SECRET_FILE = PROJECT_ROOT / ".artifacts" / "dev-token-secret"
DEFAULT_ISSUER = Settings.model_fields["dev_token_issuer"].default
SECRET_FILE_MODE = 0o600


def create_secret_file(path: Path) -> str:
    """Write a new random secret to `path`, readable by its owner only, and return it."""
    secret = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name and renamed, so a reader never sees half a secret, and
    # created with mode 0600 so that it is never readable by others, not even for a moment.
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, SECRET_FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    os.chmod(partial, SECRET_FILE_MODE)
    os.replace(partial, path)
    return secret


def read_secret_file(path: Path) -> str:
    """Return the secret stored in `path`; raise ValueError saying how to get one."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError as error:
        raise ValueError(
            f"no development token secret at {path}: start the local stack (`make run`) first, "
            "or pass the --secret-file it was started with"
        ) from error
    if len(secret.encode("utf-8")) < MIN_DEV_TOKEN_SECRET_BYTES:
        raise ValueError(
            f"{path} does not contain a development token secret of at least {MIN_DEV_TOKEN_SECRET_BYTES} bytes; "
            "restart the local stack to write a new one"
        )
    return secret


def mint_token(
    secret_file: Path,
    tenant_id: str,
    user_id: str,
    role: str,
    ttl: timedelta = timedelta(hours=1),
    queues: tuple[str, ...] = (),
) -> str:
    """Sign a development token with the secret of a running local stack."""
    return mint_dev_token(read_secret_file(secret_file), DEFAULT_ISSUER, tenant_id, user_id, role, ttl, queues)
