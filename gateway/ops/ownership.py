"""PutBucketOwnershipControls, GetBucketOwnershipControls, DeleteBucketOwnershipControls.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html. The
ObjectOwnership value is the bucket's "ownership" document; without one the bucket is
ObjectWriter (our default), though GetBucketOwnershipControls answers
OwnershipControlsNotFoundError as S3 does. BucketOwnerEnforced disables ACLs, so S3
refuses it while the bucket ACL grants anything beyond the owner's full control
(InvalidBucketAclWithObjectOwnership,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html).
"""

from __future__ import annotations

from auth.policy.acl import acl_from_json
from auth.policy.ownership import ObjectOwnership, OwnershipError, check_create_bucket
from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ACL_CONFIG, OWNERSHIP_CONFIG
from gateway.ops.common import bucket_config
from gateway.responses import S3Response
from gateway.xml.codec import parse, render
from gateway.xml.ownership import MAX_CONFIGURATION_BYTES, OwnershipControls


async def put_bucket_ownership_controls(ctx: RequestContext) -> S3Response:
    bucket, meta = ctx.target_bucket, ctx.services.meta
    payload = await ctx.body.read_all(MAX_CONFIGURATION_BYTES)
    controls = parse(OwnershipControls, payload, max_size=MAX_CONFIGURATION_BYTES)
    stored_acl = await meta.get_bucket_config(bucket.name, ACL_CONFIG)
    acl = acl_from_json(stored_acl) if stored_acl is not None else None
    # The rule CreateBucket applies to its ACL holds for the ACL the bucket already has.
    if check_create_bucket(controls.object_ownership, acl) is OwnershipError.INVALID_BUCKET_ACL:
        raise S3Error(S3ErrorCode.INVALID_BUCKET_ACL_WITH_OBJECT_OWNERSHIP)
    await meta.put_bucket_config(bucket.name, OWNERSHIP_CONFIG, controls.object_ownership.value)
    return S3Response(200)


async def get_bucket_ownership_controls(ctx: RequestContext) -> S3Response:
    document = await bucket_config(ctx, OWNERSHIP_CONFIG, S3ErrorCode.OWNERSHIP_CONTROLS_NOT_FOUND)
    return S3Response.xml(render(OwnershipControls(ObjectOwnership(document))))


async def delete_bucket_ownership_controls(ctx: RequestContext) -> S3Response:
    await ctx.services.meta.put_bucket_config(ctx.target_bucket.name, OWNERSHIP_CONFIG, None)
    return S3Response(204)
