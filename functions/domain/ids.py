"""Time-ordered identifiers (ULID layout: 48-bit milliseconds, 80 random bits, Crockford base32)."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(now_ms: int | None = None) -> str:
    """Return a 26-character id that sorts by creation time to the millisecond."""
    milliseconds = int(time.time() * 1000) if now_ms is None else now_ms
    value = (milliseconds << 80) | secrets.randbits(80)
    characters = []
    for _ in range(26):
        characters.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(characters))
