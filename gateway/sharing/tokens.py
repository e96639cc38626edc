"""Share link tokens, their stored hash, link ids, and `--expires` durations. Pure."""

from __future__ import annotations

import hashlib
import re
import secrets

# 24 random bytes: 192 bits, 32 URL-safe base64 characters (RFC 4648 §5, no padding).
TOKEN_BYTES = 24
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_LINK_ID = re.compile(r"sl-[0-9a-f]{16}")
_DURATION = re.compile(r"(\d+)([smhdw]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# How long a link may live; a link is a bearer credential, so it must end.
MAX_EXPIRY_SECONDS = 365 * 86400


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the store keeps: the token's SHA-256, hex. A token is 192 random bits, so an
    unsalted fast hash is enough: nobody can search that space from a leaked hash."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def is_token(text: str) -> bool:
    """Has the shape new_token() gives (checked before any lookup)."""
    return _TOKEN.fullmatch(text) is not None


def new_link_id() -> str:
    """The public name of a link, for list and revoke (not a secret)."""
    return "sl-" + secrets.token_hex(8)


def is_link_id(text: str) -> bool:
    return _LINK_ID.fullmatch(text) is not None


def parse_duration(text: str) -> int:
    """`7d`, `12h`, `30m`, `45s`, `2w` or plain seconds; ValueError unless it is between
    1 second and MAX_EXPIRY_SECONDS."""
    m = _DURATION.fullmatch(text.strip().lower())
    if m is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 7d, 12h, 30m, 3600)")
    seconds = int(m[1]) * _UNIT_SECONDS[m[2]]
    if not 1 <= seconds <= MAX_EXPIRY_SECONDS:
        raise ValueError(f"duration {text!r} must be between 1s and {MAX_EXPIRY_SECONDS // 86400}d")
    return seconds
