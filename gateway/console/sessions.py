"""Console sessions: the cookie's token, the CSRF token, and when a session ends.

A session is a random token in an HttpOnly, SameSite=Strict cookie (Secure on https)
scoped to the API's path, so no page script and no S3 request ever carries it. The
metastore keeps only its SHA-256 (gateway/meta/console_sessions.py). The CSRF token is
derived from the session token, so it needs no storage, is worthless without the cookie,
and cannot be computed from a leaked table: every state-changing call must send it in the
X-KV-CSRF header, which a cross-site form or image cannot set.

A session ends at the first of: sign-out, its idle timeout since last used, its absolute
lifetime since sign-in, or its access key (or user, or account) gone or inactive.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from gateway.meta.base import ConsoleSession

COOKIE = "kv_console"
COOKIE_PATH = "/_kv/console"
CSRF_HEADER = "x-kv-csrf"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# last_seen is written at most this often per session (or a tenth of a shorter idle
# timeout): an idle timeout of minutes needs no metastore write per presigned upload part.
TOUCH_INTERVAL = 60.0


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits, 43 characters


def is_token(text: str) -> bool:
    return _TOKEN.fullmatch(text) is not None


def token_hash(token: str) -> str:
    """What the store keeps. 256 random bits need no salt or slow hash."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def csrf_token(token: str) -> str:
    return hmac.new(token.encode("ascii"), b"kloudvault console csrf", hashlib.sha256).hexdigest()


def csrf_matches(token: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(csrf_token(token), sent)


@dataclass(frozen=True)
class Timeouts:
    idle: float
    lifetime: float


def ends_at(session: ConsoleSession, timeouts: Timeouts) -> float:
    """When the session ends if not used again."""
    return min(session.expires, session.last_seen + timeouts.idle)


def is_live(session: ConsoleSession, timeouts: Timeouts, now: float) -> bool:
    return now < ends_at(session, timeouts)


def set_cookie_header(token: str, *, secure: bool, max_age: int) -> str:
    attributes = [
        f"{COOKIE}={token}",
        f"Path={COOKIE_PATH}",
        f"Max-Age={max_age}",
        "HttpOnly",
        "SameSite=Strict",
    ]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)


def clear_cookie_header(*, secure: bool) -> str:
    return set_cookie_header("", secure=secure, max_age=0)


def cookie_token(cookie_header: str | None) -> str | None:
    """The session token in a Cookie header, if it has one of the right shape."""
    if not cookie_header:
        return None
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and is_token(value):
            return value
    return None
