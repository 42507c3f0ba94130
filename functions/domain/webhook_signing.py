"""Signatures of webhook deliveries: HMAC-SHA256 over "{timestamp}.{body}" with the subscription's secret.

docs/webhooks.md gives receivers the matching verification code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_VERSION = "v1"
SECRET_PREFIX = "whsec_"


def new_signing_secret() -> str:
    """Return a new secret with 256 random bits."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of `{timestamp}.{body}` keyed with the secret's UTF-8 bytes."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets_in_use: list[str], timestamp: int, body: bytes) -> str:
    """Return the Webhook-Signature value: one `v1=<hex>` per secret, separated by spaces.

    Two signatures are sent only while a rotated-out secret is still in its grace period, so a
    receiver that has not switched to the new secret yet keeps accepting deliveries.
    """
    return " ".join(f"{SIGNATURE_VERSION}={sign(secret, timestamp, body)}" for secret in secrets_in_use)


def delivery_headers(event_id: str, secrets_in_use: list[str], timestamp: int, body: bytes) -> dict[str, str]:
    """Return the headers of one delivery attempt."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "servicedesk-webhooks/1",
        "Webhook-Id": event_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signature_header(secrets_in_use, timestamp, body),
    }
