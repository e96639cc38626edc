"""Accounts, IAM users and access keys: ids, generation, root bootstrap, a lookup cache.

Each row of `users` is an account (AWS's sense): it owns buckets, and its own keys act as
the account. An account's 12-digit id and 64-hex canonical user id are derived from its
name, so every replica and every table agrees on them without storing them (and existing
accounts got theirs without a data migration).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache

from auth.sealed import SecretSealer
from gateway.coalesce import Coalescer
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import AccessKey, IamIdentity, MetaStore, StsSession
from gateway.values import quick_init

ROOT_USER = "root"
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


# Pure functions of the name, asked several times per request (authorization, ACLs,
# listings' owners): hashed once per account.
@lru_cache(maxsize=4096)
def account_id(account: str) -> str:
    """The account's 12-digit id (ARNs, aws:PrincipalAccount, policy Principal)."""
    digest = hashlib.sha256(b"kloudvault-account\0" + account.encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**12:012d}"


@lru_cache(maxsize=4096)
def canonical_id(account: str) -> str:
    """The account's canonical user id (ACL grantees, Owner/ID in listings)."""
    return hashlib.sha256(b"kloudvault-canonical\0" + account.encode()).hexdigest()


def new_iam_id(prefix: str) -> str:
    """An IAM unique id: AIDA (user), AGPA (group), ANPA (policy) + 17 characters."""
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(17))


@quick_init
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


# Temporary credentials' access keys start with ASIA, as AWS's do; nothing else does.
SESSION_KEY_PREFIX = "ASIA"


def new_session_access_key() -> str:
    return SESSION_KEY_PREFIX + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def new_session_token() -> str:
    """A session token: 384 random bits, base64 (what SDKs pass along verbatim)."""
    return base64.b64encode(secrets.token_bytes(48)).decode()


def session_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The session token a request presents: the X-Amz-Security-Token header (lower-case
    names), or the query parameter of a presigned URL (SigV4 spells it X-Amz-Security-Token,
    SigV2 presigners x-amz-security-token)."""
    return (
        headers.get("x-amz-security-token")
        or query.get("X-Amz-Security-Token")
        or query.get("x-amz-security-token")
    )


def token_digest(token: str) -> str:
    """What is stored of a session token (the token itself is never kept)."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_access_key(
    meta: MetaStore,
    sealer: SecretSealer,
    user: str,
    *,
    now: float,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> AccessKey:
    """A new key for an account, its secret stored sealed; returned with the secret in the
    clear (to be shown once)."""  # fmt: skip
    access_key = access_key or new_access_key()
    secret_key = secret_key or new_secret_key()
    key = await meta.create_access_key(
        user, access_key, sealer.seal(access_key, secret_key), now=now
    )
    return replace(key, secret_key=secret_key)


async def create_user_access_key(
    meta: MetaStore, sealer: SecretSealer, account: str, user: str, *, now: float
) -> AccessKey:
    """A new key for an IAM user, sealed at rest, returned in the clear."""
    access_key, secret_key = new_access_key(), new_secret_key()
    key = await meta.create_user_access_key(
        account, user, access_key, sealer.seal(access_key, secret_key), now=now
    )
    return replace(key, secret_key=secret_key)


def opened(sealer: SecretSealer, key: AccessKey) -> AccessKey:
    return replace(key, secret_key=sealer.open(key.access_key, key.secret_key))


async def ensure_root(
    meta: MetaStore,
    access_key: str | None,
    secret_key: str | None,
    *,
    now: float,
    sealer: SecretSealer | None = None,
) -> tuple[AccessKey, bool]:
    """The root key, created if absent; (key, created). Given keys replace stored ones."""
    sealer = sealer or SecretSealer(None)
    if await meta.get_user(ROOT_USER) is None:
        await meta.create_user(ROOT_USER, is_root=True, now=now)
    existing = [opened(sealer, key) for key in await meta.list_access_keys(ROOT_USER)]
    if access_key and secret_key:
        for key in existing:
            if key.access_key == access_key and key.secret_key == secret_key:
                return key, False
        stale = await meta.get_access_key(access_key)
        if stale is not None:
            await meta.delete_access_key(access_key)
        created = await create_access_key(
            meta, sealer, ROOT_USER, now=now, access_key=access_key, secret_key=secret_key
        )
        return created, True
    if existing:
        return existing[0], False
    return await create_access_key(meta, sealer, ROOT_USER, now=now), True


async def reseal_secrets(meta: MetaStore, sealer: SecretSealer) -> int:
    """Seal, under the current master key, every secret stored in the clear (from before
    sealing, or from a time without a master key) or under a previous master key (a
    rotation: --previous-master-key-file). UnsealError: a secret none of the keys opens, and
    the server must not start. How many were sealed now."""
    if not sealer.sealing:
        return 0
    resealed = 0
    for account in await meta.list_users():
        for key in await meta.list_access_keys(account.name):
            if sealer.is_current(key.access_key, key.secret_key):
                continue
            secret = sealer.open(key.access_key, key.secret_key)
            if await meta.reseal_access_key(
                key.access_key, key.secret_key, sealer.seal(key.access_key, secret)
            ):
                resealed += 1
    return resealed


class CredentialCache:
    """Access key lookups with a short TTL: one MetaStore read per key per `ttl` seconds.

    A deleted or deactivated key keeps working for at most `ttl` seconds on other
    processes (the MetaStore, with Redis, is coherent across replicas): under a second.
    """

    def __init__(
        self,
        meta: MetaStore,
        *,
        ttl: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sealer: SecretSealer | None = None,
    ) -> None:
        self._meta = meta
        # Opens the secrets the store holds sealed (auth/sealed.py); entries hold them open.
        self.sealer = sealer or SecretSealer(None)
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, AccessKey | None]] = {}
        self._identities: dict[tuple[str, str], tuple[float, IamIdentity | None]] = {}
        self._sessions: dict[str, tuple[float, StsSession | None]] = {}
        self._roles: dict[tuple[str, str], tuple[float, IamIdentity | None]] = {}
        # Requests missing the same expired entry at once share one read (gateway/coalesce.py).
        self._loading_keys: Coalescer[str, AccessKey | None] = Coalescer()
        self._loading_identities: Coalescer[tuple[str, str], IamIdentity | None] = Coalescer()

    async def get(self, access_key: str) -> AccessKey | None:
        now = self._clock()
        hit = self._entries.get(access_key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        if self.ttl <= 0:  # every request reads the store: nothing to share
            return await self._load_key(access_key, now)
        return await self._loading_keys.run(access_key, lambda: self._load_key(access_key, now))

    async def _load_key(self, access_key: str, now: float) -> AccessKey | None:
        found = await self._meta.get_access_key(access_key)
        if found is not None:
            found = opened(self.sealer, found)
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
        if self.ttl <= 0:
            return await self._load_identity(account, user, now)
        return await self._loading_identities.run(
            (account, user), lambda: self._load_identity(account, user, now)
        )

    async def _load_identity(self, account: str, user: str, now: float) -> IamIdentity | None:
        found = await self._meta.get_identity(account, user)
        if len(self._identities) > 10_000:
            self._identities.clear()
        self._identities[(account, user)] = (now, found)
        return found

    async def session(self, access_key: str) -> StsSession | None:
        """An STS session, cached no longer than a key: a revoked session, or one whose
        role was deleted, stops working on every process within `ttl` seconds."""
        now = self._clock()
        hit = self._sessions.get(access_key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        found = await self._meta.get_sts_session(access_key)
        if found is not None:
            found = replace(found, secret_key=self.sealer.open(access_key, found.secret_key))
        if len(self._sessions) > 10_000:
            self._sessions.clear()
        self._sessions[access_key] = (now, found)
        return found

    async def role_identity(self, account: str, role: str) -> IamIdentity | None:
        """A role with its policies, as briefly cached as a user's identity."""
        now = self._clock()
        hit = self._roles.get((account, role))
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        found = await self._meta.get_role_identity(account, role)
        if len(self._roles) > 10_000:
            self._roles.clear()
        self._roles[(account, role)] = (now, found)
        return found

    async def signer(
        self, access_key: str, *, token: str | None = None, now: float | None = None
    ) -> tuple[AccessKey, Principal, IamIdentity | None]:
        """Who a request signed with `access_key` acts as: the key (its secret checks the
        signature), the principal, and the IAM user's (or role session's) identity.
        InvalidAccessKeyId for an unknown or inactive key, or a deleted user's.

        Temporary credentials (ASIA...) need their session `token` (X-Amz-Security-Token):
        InvalidToken when it does not match or the session was revoked, ExpiredToken once
        `now` (the request's wall-clock time) is past the session's expiry."""
        if access_key.startswith(SESSION_KEY_PREFIX):
            return await self._session_signer(
                access_key, token, time.time() if now is None else now
            )
        if token:
            raise S3Error(S3ErrorCode.INVALID_TOKEN)  # a token belongs to temporary keys only
        key = await self.get(access_key)
        if key is None or not key.active:
            raise S3Error(S3ErrorCode.INVALID_ACCESS_KEY_ID, AWSAccessKeyId=access_key)
        identity = None
        if key.iam_user is not None:
            identity = await self.identity(key.user, key.iam_user)
            if identity is None:  # the user was deleted; its keys go with it
                raise S3Error(S3ErrorCode.INVALID_ACCESS_KEY_ID, AWSAccessKeyId=access_key)
        return key, Principal(key.user, key.access_key, key.is_root, key.iam_user), identity

    async def _session_signer(
        self, access_key: str, token: str | None, now: float
    ) -> tuple[AccessKey, Principal, IamIdentity | None]:
        session = await self.session(access_key)
        if session is None or not token:
            raise S3Error(S3ErrorCode.INVALID_ACCESS_KEY_ID, AWSAccessKeyId=access_key)
        if not hmac.compare_digest(token_digest(token), session.token_sha256) or session.revoked:
            raise S3Error(S3ErrorCode.INVALID_TOKEN)
        if now >= session.expires:
            raise S3Error(S3ErrorCode.EXPIRED_TOKEN)
        identity = await self._session_identity(session)
        key = AccessKey(
            access_key, session.secret_key, session.account, session.created, False,
            session.iam_user, True,
        )  # fmt: skip
        return key, _session_principal(session), identity

    async def _session_identity(self, session: StsSession) -> IamIdentity | None:
        """A session's role (with the session's name and policy) or IAM user, as now;
        InvalidToken once that role or user is gone."""
        identity: IamIdentity | None = None
        if session.role is not None:
            role = await self.role_identity(session.account, session.role)
            if role is None:  # deleted since: its sessions end with it
                raise S3Error(S3ErrorCode.INVALID_TOKEN)
            identity = replace(
                role, session_name=session.session_name, session_policy=session.session_policy
            )
        elif session.iam_user is not None:
            identity = await self.identity(session.account, session.iam_user)
            if identity is None:
                raise S3Error(S3ErrorCode.INVALID_TOKEN)
        return identity

    async def holder(self, access_key: str, *, now: float) -> tuple[Principal, IamIdentity | None]:
        """Who `access_key` acts as now, for a request it signed earlier (a tus upload's
        creation: gateway/tus/): as `signer`, with no secret or token to check, so the
        same errors once the key is deactivated, its user deleted, its session revoked,
        expired or left without its role."""
        if access_key.startswith(SESSION_KEY_PREFIX):
            session = await self.session(access_key)
            if session is None or session.revoked:
                raise S3Error(S3ErrorCode.INVALID_TOKEN)
            if now >= session.expires:
                raise S3Error(S3ErrorCode.EXPIRED_TOKEN)
            return _session_principal(session), await self._session_identity(session)
        _, principal, identity = await self.signer(access_key, now=now)
        return principal, identity

    def invalidate(self, access_key: str | None = None) -> None:
        """Forget a key (None: every key and identity); this process sees changes at once."""
        if access_key is None:
            self._entries.clear()
            self._identities.clear()
            self._sessions.clear()
            self._roles.clear()
            self._loading_identities.forget()
        else:
            self._entries.pop(access_key, None)
        self._loading_keys.forget(access_key)


def _session_principal(session: StsSession) -> Principal:
    # A session never carries the service administrator's rights across accounts.
    return Principal(session.account, session.access_key, False, session.iam_user)
