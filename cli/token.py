"""`servicedesk token`: print a development token for the API of the running local stack.

    curl -H "Authorization: Bearer $(servicedesk token --tenant demo --user u1 --role requester)" ...

The token is signed with the secret the local stack wrote at start; it works until it expires
or the stack restarts.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from pydantic import ValidationError

from functions.models.caller import Role
from infra.local.dev_tokens import DEFAULT_SECRET_FILE, mint_token

MAX_TTL_MINUTES = 24 * 60
API_ROLES = [role.value for role in Role if role != Role.SYSTEM]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True, help="tenant id of the caller")
    parser.add_argument("--user", required=True, help="user id of the caller (the token's sub)")
    parser.add_argument("--role", required=True, choices=API_ROLES, help="role of the caller")
    parser.add_argument(
        "--queues", default="", help="comma-separated queues an agent works, for example hardware,identity"
    )
    parser.add_argument(
        "--ttl-minutes",
        type=int,
        default=60,
        help=f"minutes until the token expires, 1 to {MAX_TTL_MINUTES} (default: 60)",
    )
    parser.add_argument(
        "--secret-file",
        type=Path,
        default=DEFAULT_SECRET_FILE,
        help="secret file written by the local stack (default: .artifacts/dev-token-secret)",
    )


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.ttl_minutes <= MAX_TTL_MINUTES:
        print(f"servicedesk token: --ttl-minutes must be from 1 to {MAX_TTL_MINUTES}", file=sys.stderr)
        return 2
    queues = tuple(name.strip() for name in args.queues.split(",") if name.strip())
    try:
        token = mint_token(
            args.secret_file, args.tenant, args.user, args.role, timedelta(minutes=args.ttl_minutes), queues
        )
    except ValueError as error:
        # pydantic's ValidationError is a ValueError and names the invalid claim.
        problem = _first_problem(error) if isinstance(error, ValidationError) else str(error)
        print(f"servicedesk token: {problem}", file=sys.stderr)
        return 2
    print(token)
    return 0


def _first_problem(error: ValidationError) -> str:
    detail = error.errors(include_url=False, include_input=False)[0]
    field = str(detail["loc"][0]) if detail["loc"] else "token"
    option = {"tenant_id": "--tenant", "user_id": "--user", "queues": "--queues"}.get(field, field)
    return f"invalid {option}: {detail['msg']}"
