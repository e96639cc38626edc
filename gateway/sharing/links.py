"""Creating a share link, and the creator's read access it keeps depending on.

A link acts as its creator: creating one needs s3:GetObject (s3:GetObjectVersion for a
pinned version) on the object, and every download asks the policy engine that question
again, as the creator, with the download's own time, address and transport as the
condition keys (gateway/access.py). A creator who loses read access (a policy changed, an
IAM user deleted or detached from a group) takes every link of theirs down with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from auth.credentials import Principal
from auth.policy.keys import Network
from gateway.access import Access, AccessCache, RequestFacts
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Bucket, IamIdentity, MetaStore, ShareLink
from gateway.s3.versions import addressed
from gateway.sharing.tokens import MAX_EXPIRY_SECONDS, new_link_id, new_token, token_hash

IdentityLookup = Callable[[str, str], Awaitable[IamIdentity | None]]


@dataclass(frozen=True)
class Creator:
    """Who a link acts as: an account's own key (identity None) or an IAM user."""

    principal: Principal
    identity: IamIdentity | None


@dataclass(frozen=True)
class Caller:
    """What the condition keys of a read check see: the request being served."""

    headers: Mapping[str, str]  # lower-case names
    peer: str
    secure: bool
    now: float


async def load_creator(
    meta: MetaStore, account: str, iam_user: str | None, identities: IdentityLookup
) -> Creator | None:
    """The link's creator as authorization sees it now; None if they no longer exist."""
    user = await meta.get_user(account)
    if user is None:
        return None
    identity = None
    if iam_user is not None:
        identity = await identities(account, iam_user)
        if identity is None:
            return None
    return Creator(Principal(account, None, user.is_root, iam_user), identity)


def read_access(
    meta: MetaStore,
    cache: AccessCache,
    creator: Creator,
    bucket: str,
    key: str,
    version_id: str | None,
    caller: Caller,
    *,
    head: bool = False,
    trusted: tuple[Network, ...] = (),
) -> Access:
    """The authorization of `creator` reading the object (GetObject, or HeadObject)."""
    facts = RequestFacts(
        operation="HeadObject" if head else "GetObject",
        bucket=bucket,
        key=key,
        headers=caller.headers,
        query={} if version_id is None else {"versionId": version_id},
        peer=caller.peer,
        secure=caller.secure,
        now=caller.now,
    )
    return Access(meta, cache, creator.principal, creator.identity, facts, trusted)


async def check_read(access: Access, bucket: Bucket | None) -> None:
    """AccessDenied unless the access's principal may read its object; NoSuchKey /
    NoSuchVersion (or AccessDenied, to one who may not list the bucket) when it is gone."""
    facts = access.facts
    if bucket is None:
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=facts.bucket or "")
    await access.check(bucket)
    assert facts.key is not None
    version_id = facts.query.get("versionId")
    try:
        found = await access.meta.get_object(bucket.name, facts.key, version_id)
        addressed(found, facts.key, version_id)
    except S3Error as error:
        raise await access.hide_missing(error) from None


@dataclass(frozen=True)
class NewLink:
    """A link as just created: the only time its token exists outside the holder's hands."""

    link: ShareLink
    token: str


async def create_link(
    access: Access,
    bucket: Bucket | None,
    creator: Creator,
    *,
    expires_in: int,
    max_downloads: int | None,
) -> NewLink:
    """Check that the creator may read the object, then store a link to it."""
    if not 1 <= expires_in <= MAX_EXPIRY_SECONDS:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "expiry out of range")
    if max_downloads is not None and max_downloads < 1:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "max downloads must be at least 1")
    await check_read(access, bucket)
    facts = access.facts
    assert creator.principal.user is not None and facts.bucket and facts.key is not None
    token = new_token()
    link = ShareLink(
        link_id=new_link_id(),
        token_hash=token_hash(token),
        account=creator.principal.user,
        iam_user=creator.principal.iam_user,
        bucket=facts.bucket,
        key=facts.key,
        version_id=facts.query.get("versionId"),
        created=facts.now,
        expires=facts.now + expires_in,
        max_downloads=max_downloads,
    )
    await access.meta.create_share_link(link)
    return NewLink(link, token)
