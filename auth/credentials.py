"""Users and access keys in the MetaStore: generation, root bootstrap, a lookup cache."""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.meta.base import AccessKey, MetaStore

ROOT_USER = "root"
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user through one of its keys, or anonymous (user None)."""

    user: str | None
    access_key: str | None = None
    is_root: bool = False

    @property
    def anonymous(self) -> bool:
        return self.user is None


ANONYMOUS = Principal(user=None)


def new_access_key() -> str:
    # AWS-shaped: 20 upper-case alphanumerics; the "KV" prefix tells them apart in logs.
    return "KV" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(18))


def new_secret_key() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


async def ensure_root(
    meta: MetaStore, access_key: str | None, secret_key: str | None, *, now: float
) -> tuple[AccessKey, bool]:
    """The root key, created if absent; (key, created). Given keys replace stored ones."""
    if await meta.get_user(ROOT_USER) is None:
        await meta.create_user(ROOT_USER, is_root=True, now=now)
    existing = await meta.list_access_keys(ROOT_USER)
    if access_key and secret_key:
        for key in existing:
            if key.access_key == access_key and key.secret_key == secret_key:
                return key, False
        stale = await meta.get_access_key(access_key)
        if stale is not None:
            await meta.delete_access_key(access_key)
        return await meta.create_access_key(ROOT_USER, access_key, secret_key, now=now), True
    if existing:
        return existing[0], False
    created = await meta.create_access_key(ROOT_USER, new_access_key(), new_secret_key(), now=now)
    return created, True


class CredentialCache:
    """Access key lookups with a short TTL: one MetaStore read per key per `ttl` seconds.

    A deleted key keeps working for at most `ttl` seconds on other processes.
    """

    def __init__(
        self, meta: MetaStore, *, ttl: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._meta = meta
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, AccessKey | None]] = {}

    async def get(self, access_key: str) -> AccessKey | None:
        now = self._clock()
        hit = self._entries.get(access_key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        found = await self._meta.get_access_key(access_key)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[access_key] = (now, found)
        return found

    def invalidate(self, access_key: str | None = None) -> None:
        if access_key is None:
            self._entries.clear()
        else:
            self._entries.pop(access_key, None)
