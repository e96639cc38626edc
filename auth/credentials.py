"""Accounts, IAM users and access keys: ids, generation, root bootstrap, a lookup cache.

Each row of `users` is an account (AWS's sense): it owns buckets, and its own keys act as
the account. An account's 12-digit id and 64-hex canonical user id are derived from its
name, so every replica and every table agrees on them without storing them (and existing
accounts got theirs without a data migration).
"""

from __future__ import annotations

import hashlib
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import AccessKey, IamIdentity, MetaStore

ROOT_USER = "root"
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def account_id(account: str) -> str:
    """The account's 12-digit id (ARNs, aws:PrincipalAccount, policy Principal)."""
    digest = hashlib.sha256(b"kloudvault-account\0" + account.encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**12:012d}"


def canonical_id(account: str) -> str:
    """The account's canonical user id (ACL grantees, Owner/ID in listings)."""
    return hashlib.sha256(b"kloudvault-canonical\0" + account.encode()).hexdigest()


def new_iam_id(prefix: str) -> str:
    """An IAM unique id: AIDA (user), AGPA (group), ANPA (policy) + 17 characters."""
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(17))


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account's own key, an IAM user's key, or anonymous (user None).

    `user` is the account (users.name): what owns buckets and objects. `iam_user` names
    the IAM user of that account when the key is one of its users' keys.
    """

    user: str | None
    access_key: str | None = None
    is_root: bool = False
    iam_user: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.user is None

    @property
    def account_id(self) -> str | None:
        return None if self.user is None else account_id(self.user)

    @property
    def canonical_id(self) -> str | None:
        return None if self.user is None else canonical_id(self.user)


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

    A deleted or deactivated key keeps working for at most `ttl` seconds on other
    processes (the MetaStore, with Redis, is coherent across replicas): under a second.
    """

    def __init__(
        self, meta: MetaStore, *, ttl: float = 0.5, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._meta = meta
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, AccessKey | None]] = {}
        self._identities: dict[tuple[str, str], tuple[float, IamIdentity | None]] = {}

    async def get(self, access_key: str) -> AccessKey | None:
        now = self._clock()
        hit = self._entries.get(access_key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        found = await self._meta.get_access_key(access_key)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[access_key] = (now, found)
        return found

    async def identity(self, account: str, user: str) -> IamIdentity | None:
        """An IAM user with its policies, as briefly cached as its keys: a changed policy
        or group membership applies on every process within `ttl` seconds."""
        now = self._clock()
        hit = self._identities.get((account, user))
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        found = await self._meta.get_identity(account, user)
        if len(self._identities) > 10_000:
            self._identities.clear()
        self._identities[(account, user)] = (now, found)
        return found

    async def signer(self, access_key: str) -> tuple[AccessKey, Principal, IamIdentity | None]:
        """Who a request signed with `access_key` acts as: the key (its secret checks the
        signature), the principal, and the IAM user's identity when it is one's key.
        InvalidAccessKeyId for an unknown or inactive key, or a deleted user's."""
        key = await self.get(access_key)
        if key is None or not key.active:
            raise S3Error(S3ErrorCode.INVALID_ACCESS_KEY_ID, AWSAccessKeyId=access_key)
        identity = None
        if key.iam_user is not None:
            identity = await self.identity(key.user, key.iam_user)
            if identity is None:  # the user was deleted; its keys go with it
                raise S3Error(S3ErrorCode.INVALID_ACCESS_KEY_ID, AWSAccessKeyId=access_key)
        return key, Principal(key.user, key.access_key, key.is_root, key.iam_user), identity

    def invalidate(self, access_key: str | None = None) -> None:
        """Forget a key (None: every key and identity); this process sees changes at once."""
        if access_key is None:
            self._entries.clear()
            self._identities.clear()
        else:
            self._entries.pop(access_key, None)
