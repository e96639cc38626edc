"""PutBucketWebsite, GetBucketWebsite, DeleteBucketWebsite.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketWebsite.html. The configuration
is validated (gateway.s3.website) and stored as the bucket's "website" document (its XML);
the website endpoint (gateway/website/endpoint.py) serves the bucket by it.
"""

from __future__ import annotations

import hashlib

import gateway.xml.website  # noqa: F401  (registers WebsiteConfiguration's codec)
from gateway.codec.checksums import verify_content_md5
from gateway.context import RequestContext
from gateway.errors import S3ErrorCode
from gateway.ops.common import bucket_config
from gateway.responses import S3Response
from gateway.s3.website import MAX_CONFIGURATION_BYTES, WEBSITE, WebsiteConfiguration, validate
from gateway.xml.codec import parse, render


async def put_bucket_website(ctx: RequestContext) -> S3Response:
    payload = await ctx.body.read_all(MAX_CONFIGURATION_BYTES)
    verify_content_md5(ctx.headers.get("content-md5"), hashlib.md5(payload).digest())
    config = parse(WebsiteConfiguration, payload, max_size=MAX_CONFIGURATION_BYTES)
    validate(config)
    name = ctx.target_bucket.name
    await ctx.services.meta.put_bucket_config(name, WEBSITE, render(config).decode())
    ctx.services.website_configs.forget(name)
    return S3Response(200)


async def get_bucket_website(ctx: RequestContext) -> S3Response:
    document = await bucket_config(ctx, WEBSITE, S3ErrorCode.NO_SUCH_WEBSITE_CONFIGURATION)
    return S3Response.xml(document.encode())


async def delete_bucket_website(ctx: RequestContext) -> S3Response:
    name = ctx.target_bucket.name
    await ctx.services.meta.put_bucket_config(name, WEBSITE, None)
    ctx.services.website_configs.forget(name)
    return S3Response(204)
