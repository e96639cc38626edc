"""PutBucketCors, GetBucketCors, DeleteBucketCors.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html. The configuration
is validated (gateway.s3.cors) and stored as the bucket's "cors" document (its XML);
gateway/middlewares/cors.py answers preflights and adds the response headers from it.
"""

from __future__ import annotations

import hashlib

import gateway.xml.cors  # noqa: F401  (registers CORSConfiguration's codec)
from gateway.codec.checksums import verify_content_md5
from gateway.context import RequestContext
from gateway.errors import S3ErrorCode
from gateway.meta.base import CORS_CONFIG
from gateway.ops.common import bucket_config
from gateway.responses import S3Response
from gateway.s3.cors import MAX_CONFIGURATION_BYTES, CORSConfiguration, validate
from gateway.xml.codec import parse, render

CORS = CORS_CONFIG


async def put_bucket_cors(ctx: RequestContext) -> S3Response:
    payload = await ctx.body.read_all(MAX_CONFIGURATION_BYTES)
    verify_content_md5(ctx.headers.get("content-md5"), hashlib.md5(payload).digest())
    config = parse(CORSConfiguration, payload, max_size=MAX_CONFIGURATION_BYTES)
    validate(config)
    await ctx.services.meta.put_bucket_config(ctx.target_bucket.name, CORS, render(config).decode())
    return S3Response(200)


async def get_bucket_cors(ctx: RequestContext) -> S3Response:
    document = await bucket_config(ctx, CORS, S3ErrorCode.NO_SUCH_CORS_CONFIGURATION)
    return S3Response.xml(document.encode())


async def delete_bucket_cors(ctx: RequestContext) -> S3Response:
    await ctx.services.meta.put_bucket_config(ctx.target_bucket.name, CORS, None)
    return S3Response(204)
