"""PutPublicAccessBlock, GetPublicAccessBlock, DeletePublicAccessBlock.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html. The
configuration is stored as the bucket's "public-access-block" document
(PublicAccessBlock.to_json()); PutBucketPolicy, the ACL writes and the policy engine read
it from there.
"""

from __future__ import annotations

from auth.policy.public import PublicAccessBlock
from gateway.context import RequestContext
from gateway.errors import S3ErrorCode
from gateway.meta.base import PUBLIC_ACCESS_BLOCK_CONFIG
from gateway.ops.common import bucket_config
from gateway.responses import S3Response
from gateway.xml.codec import parse, render
from gateway.xml.public_access import MAX_CONFIGURATION_BYTES


async def put_public_access_block(ctx: RequestContext) -> S3Response:
    payload = await ctx.body.read_all(MAX_CONFIGURATION_BYTES)
    block = parse(PublicAccessBlock, payload, max_size=MAX_CONFIGURATION_BYTES)
    await ctx.services.meta.put_bucket_config(
        ctx.target_bucket.name, PUBLIC_ACCESS_BLOCK_CONFIG, block.to_json()
    )
    return S3Response(200)


async def get_public_access_block(ctx: RequestContext) -> S3Response:
    document = await bucket_config(
        ctx, PUBLIC_ACCESS_BLOCK_CONFIG, S3ErrorCode.NO_SUCH_PUBLIC_ACCESS_BLOCK_CONFIGURATION
    )
    return S3Response.xml(render(PublicAccessBlock.from_json(document)))


async def delete_public_access_block(ctx: RequestContext) -> S3Response:
    await ctx.services.meta.put_bucket_config(
        ctx.target_bucket.name, PUBLIC_ACCESS_BLOCK_CONFIG, None
    )
    return S3Response(204)
