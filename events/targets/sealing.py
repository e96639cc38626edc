"""Stored event targets at rest: sealed under the master key, as access-key secrets are.

A target added with `kloudvault admin target add` may carry secrets: a webhook's HMAC
signing key (--secret) and a broker URL's password or token (amqp://user:PASS@host,
redis://:PASS@host, nats://TOKEN@host). Its row (gateway/meta/events.py) holds the URL
and the options JSON each sealed whole by auth/sealed.py's SecretSealer, with
"event-target/NAME/url" (or /options) as associated data, so a sealed value copied onto
another target's row, or onto an access key's, does not open. Only the dispatcher's
TargetRegistry opens them, when it builds the target (events/targets/registry.py);
`admin target list` opens them to show the URL without its password.

Rows stored before sealing (or while no master key was shared: auth/sealed.py) open as
they are; the server seals them at start (reseal_event_targets), and moves those sealed
under a previous master key (--previous-master-key-file) to the current one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from auth.sealed import SecretSealer


def _context(name: str, part: str) -> str:
    # Access key ids never hold "/": the two kinds of sealed values cannot be swapped.
    return f"event-target/{name}/{part}"


def seal_target(
    sealer: SecretSealer, name: str, url: str, options: Mapping[str, Any]
) -> tuple[str, str]:
    """The (url, options) columns to store for a target."""
    return (
        sealer.seal(_context(name, "url"), url),
        sealer.seal(_context(name, "options"), json.dumps(dict(options))),
    )


def open_target(
    sealer: SecretSealer, name: str, url: str, options: str
) -> tuple[str, dict[str, Any]]:
    """The URL and options a stored row holds; auth.sealed.UnsealError if the master key
    (or a previous one) does not open it."""
    opened = sealer.open(_context(name, "options"), options)
    return sealer.open(_context(name, "url"), url), json.loads(opened or "{}")


def is_current(sealer: SecretSealer, name: str, url: str, options: str) -> bool:
    """Both columns sealed under the current master key."""
    return sealer.is_current(_context(name, "url"), url) and sealer.is_current(
        _context(name, "options"), options
    )


class StoredTargets(Protocol):
    """The outbox's target rows (gateway.meta.outbox.EventOutbox)."""

    async def list_event_targets(self) -> list[tuple[str, str, str]]: ...

    async def reseal_event_target(
        self, name: str, stored: tuple[str, str], sealed: tuple[str, str]
    ) -> bool: ...


async def reseal_event_targets(store: StoredTargets, sealer: SecretSealer) -> int:
    """Seal under the current master key every stored target in the clear or under a
    previous key; how many were sealed now. UnsealError: a row none of the keys opens
    (the server must not start, as for access keys: auth/credentials.reseal_secrets)."""
    if not sealer.sealing:
        return 0
    resealed = 0
    for name, url, options in await store.list_event_targets():
        if is_current(sealer, name, url, options):
            continue
        sealed = seal_target(sealer, name, *open_target(sealer, name, url, options))
        # Compare-and-swap: a target replaced meanwhile (admin target add) is left alone.
        if await store.reseal_event_target(name, (url, options), sealed):
            resealed += 1
    return resealed


def shown_url(url: str) -> str:
    """The URL without the secret of its user part: the password, or a lone user (a NATS
    token), as ***."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    shown = f"{user}:***" if colon else "***"
    return urlunsplit(parts._replace(netloc=f"{shown}@{host}"))
