"""Bucket operations: CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation."""

from __future__ import annotations

from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ACL_CONFIG, OWNERSHIP_CONFIG, Bucket
from gateway.request_acl import create_bucket_acl
from gateway.responses import S3Response
from gateway.s3.bucket_names import validate_bucket_name
from gateway.xml.codec import parse, render
from gateway.xml.models import CreateBucketConfiguration, LocationConstraint

MAX_CONFIG_BYTES = 64 * 1024


async def create_bucket(ctx: RequestContext) -> S3Response:
    name = ctx.bucket
    assert name is not None and ctx.principal.user is not None
    validate_bucket_name(name)
    meta = ctx.services.meta
    # x-amz-acl / x-amz-grant-* and x-amz-object-ownership, refused before anything exists.
    access = await create_bucket_acl(meta, ctx.headers, ctx.principal.user)
    # Object lock turns versioning on for good (gateway.s3.object_lock).
    object_lock = ctx.headers.get("x-amz-bucket-object-lock-enabled", "").lower() == "true"
    region = ctx.services.settings.region
    payload = await ctx.body.read_all(MAX_CONFIG_BYTES)
    if payload.strip():
        config = parse(CreateBucketConfiguration, payload)
        constraint = config.location_constraint
        # Clients configured for us-east-1 send it explicitly; tolerate it and our own region.
        if constraint not in (None, "", region, "us-east-1"):
            raise S3Error(
                S3ErrorCode.ILLEGAL_LOCATION_CONSTRAINT,
                f"The {constraint} location constraint is incompatible with the region "
                f"{region} of this endpoint.",
                LocationConstraint=constraint,
            )
    try:
        await meta.create_bucket(
            Bucket(
                name=name,
                owner=ctx.principal.user,
                created=ctx.now,
                region=region,
                versioning="Enabled" if object_lock else None,
                object_lock=object_lock,
            )
        )
    except S3Error as exc:
        # S3's legacy rule in us-east-1: creating a bucket you already own succeeds, and
        # changes nothing (contents, versioning, ACLs, ownership stay as they are).
        # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
        if exc.code is not S3ErrorCode.BUCKET_ALREADY_OWNED_BY_YOU:
            raise
        existing = await meta.get_bucket(name)
        if existing is None or existing.region != "us-east-1":
            raise
        return S3Response(200, {"Location": f"/{name}"})
    if access.ownership is not None:
        await meta.put_bucket_config(name, OWNERSHIP_CONFIG, access.ownership.value)
    if access.acl is not None:
        await meta.put_bucket_config(name, ACL_CONFIG, access.acl)
    return S3Response(200, {"Location": f"/{name}"})


async def head_bucket(ctx: RequestContext) -> S3Response:
    bucket = ctx.target_bucket
    return S3Response(200, {"x-amz-bucket-region": bucket.region})


async def delete_bucket(ctx: RequestContext) -> S3Response:
    await ctx.services.meta.delete_bucket(ctx.target_bucket.name)
    # Its notification configuration went with it: a new bucket of that name has none.
    ctx.services.notifications.forget(ctx.target_bucket.name)
    return S3Response(204)


async def get_bucket_location(ctx: RequestContext) -> S3Response:
    return S3Response.xml(render(LocationConstraint(ctx.target_bucket.region)))
