"""PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy, GetBucketPolicyStatus.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html. The policy is
validated as a bucket policy of this bucket (auth.policy.model) and stored as the client
sent it, as the bucket's "policy" document; GetBucketPolicy hands that text back.
BlockPublicPolicy (the bucket's PublicAccessBlock) refuses a public policy with
AccessDenied. Who may call these is dispatch's business, not this module's.
"""

from __future__ import annotations

from auth.policy.model import MAX_BUCKET_POLICY_BYTES, PolicyKind, parse_policy
from auth.policy.public import PublicAccessBlock, is_public_policy
from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import POLICY_CONFIG, PUBLIC_ACCESS_BLOCK_CONFIG
from gateway.ops.common import bucket_config
from gateway.responses import S3Response
from gateway.s3.bucket_policy import parse_bucket_policy, too_large
from gateway.xml.codec import render
from gateway.xml.policy_status import PolicyStatus

JSON_CONTENT_TYPE = "application/json"


async def put_bucket_policy(ctx: RequestContext) -> S3Response:
    bucket, meta = ctx.target_bucket, ctx.services.meta
    data = await ctx.body.read_all(MAX_BUCKET_POLICY_BYTES, too_large=too_large())
    text, policy = parse_bucket_policy(data, bucket.name)
    block = PublicAccessBlock.from_json(
        await meta.get_bucket_config(bucket.name, PUBLIC_ACCESS_BLOCK_CONFIG)
    )
    if block.refuses_policy(policy):
        raise S3Error(S3ErrorCode.ACCESS_DENIED)
    await meta.put_bucket_config(bucket.name, POLICY_CONFIG, text)
    return S3Response(204)


async def _stored_policy(ctx: RequestContext) -> str:
    document = await bucket_config(ctx, POLICY_CONFIG, S3ErrorCode.NO_SUCH_BUCKET_POLICY)
    return document


async def get_bucket_policy(ctx: RequestContext) -> S3Response:
    document = await _stored_policy(ctx)
    return S3Response(200, {"Content-Type": JSON_CONTENT_TYPE}, document.encode())


async def delete_bucket_policy(ctx: RequestContext) -> S3Response:
    await ctx.services.meta.put_bucket_config(ctx.target_bucket.name, POLICY_CONFIG, None)
    return S3Response(204)


async def get_bucket_policy_status(ctx: RequestContext) -> S3Response:
    document = await _stored_policy(ctx)
    policy = parse_policy(document, PolicyKind.BUCKET, bucket=ctx.target_bucket.name)
    return S3Response.xml(render(PolicyStatus(is_public_policy(policy))))
