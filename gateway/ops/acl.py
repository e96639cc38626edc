"""GetBucketAcl, PutBucketAcl, GetObjectAcl, PutObjectAcl.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html: the ACL comes from
exactly one of x-amz-acl, x-amz-grant-* or an AccessControlPolicy body, whose Owner must
be the resource's owner. What an ACL may be is gateway.request_acl's.
"""

from __future__ import annotations

from auth.credentials import canonical_id
from auth.policy.acl import Acl, Grant, Grantee, GranteeType
from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ACL_CONFIG
from gateway.ops.common import find_version
from gateway.ops.notification import event_intent, notify
from gateway.request_acl import (
    BucketAclSettings,
    account_names,
    bucket_acl_settings,
    checked_acl,
    effective_acl,
    has_acl_headers,
    header_acl,
)
from gateway.responses import S3Response
from gateway.xml.acl import AccessControlPolicy
from gateway.xml.codec import parse, render
from gateway.xml.models import Owner

# 100 grants of the longest kind stay far below this.
MAX_ACL_BYTES = 256 * 1024


async def _answer(ctx: RequestContext, acl: Acl, owner: str) -> S3Response:
    """The AccessControlPolicy of `acl`, with accounts' names as DisplayName."""
    names = await account_names(ctx.services.meta)
    grants = tuple(
        Grant(Grantee(g.grantee.type, g.grantee.value, names.get(g.grantee.value)), g.permission)
        if g.grantee.type is GranteeType.CANONICAL_USER
        else g
        for g in acl.grants
    )
    return S3Response.xml(render(AccessControlPolicy(Owner(canonical_id(owner), owner), grants)))


async def _requested(ctx: RequestContext, settings: BucketAclSettings, owner: str) -> str | None:
    """The ACL the request sets on a resource `owner` owns, checked, as stored."""
    bucket_owner = ctx.target_bucket.owner
    body = await ctx.body.read_all(MAX_ACL_BYTES)
    if has_acl_headers(ctx.headers):
        if body.strip():
            raise S3Error(S3ErrorCode.UNEXPECTED_CONTENT)
        acl = header_acl(ctx.headers, owner, bucket_owner)
    elif body.strip():
        policy = parse(AccessControlPolicy, body, max_size=MAX_ACL_BYTES)
        if policy.owner.id != canonical_id(owner):
            # The ACL of a resource cannot change its owner.
            raise S3Error(S3ErrorCode.ACCESS_DENIED)
        acl = Acl(policy.owner.id, policy.grants)
    else:
        raise S3Error(S3ErrorCode.MISSING_SECURITY_HEADER, MissingHeaderName="x-amz-acl")
    return await checked_acl(ctx.services.meta, settings, acl, bucket_owner)


async def _settings(ctx: RequestContext) -> BucketAclSettings:
    """The bucket's ownership and public access block, as authorization already read them."""
    name = ctx.target_bucket.name
    return ctx.access.acl_settings(name) or await bucket_acl_settings(ctx.services.meta, name)


async def get_bucket_acl(ctx: RequestContext) -> S3Response:
    bucket, meta = ctx.target_bucket, ctx.services.meta
    settings = await _settings(ctx)
    stored = await meta.get_bucket_config(bucket.name, ACL_CONFIG)
    return await _answer(ctx, effective_acl(settings, stored, bucket.owner), bucket.owner)


async def put_bucket_acl(ctx: RequestContext) -> S3Response:
    bucket, meta = ctx.target_bucket, ctx.services.meta
    settings = await _settings(ctx)
    stored = await _requested(ctx, settings, bucket.owner)
    await meta.put_bucket_config(bucket.name, ACL_CONFIG, stored)
    return S3Response(200)


def _object_owner(ctx: RequestContext, settings: BucketAclSettings, stored_owner: str) -> str:
    # BucketOwnerEnforced: the bucket owner owns every object, whoever wrote it.
    return stored_owner if settings.acls_enabled else ctx.target_bucket.owner


async def get_object_acl(ctx: RequestContext) -> S3Response:
    version = await find_version(ctx)
    settings = await _settings(ctx)
    owner = _object_owner(ctx, settings, version.owner)
    return await _answer(ctx, effective_acl(settings, version.acl, owner), owner)


async def put_object_acl(ctx: RequestContext) -> S3Response:
    bucket, meta = ctx.target_bucket, ctx.services.meta
    version = await find_version(ctx)
    settings = await _settings(ctx)
    stored = await _requested(ctx, settings, _object_owner(ctx, settings, version.owner))
    version_id = ctx.query.get("versionId")
    events = await event_intent(ctx, "s3:ObjectAcl:Put", ctx.target_key)
    await meta.put_object_acl(bucket.name, ctx.target_key, version_id, stored, events=events)
    notify(ctx, events)
    return S3Response(200)
