"""PutBucketLifecycleConfiguration, GetBucketLifecycleConfiguration, DeleteBucketLifecycle.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html.
The configuration is validated (lifecycle.rules), given ids where rules have none (as S3
does), and stored as the bucket's "lifecycle" document; lifecycle/worker.py applies it.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from gateway.context import RequestContext
from gateway.errors import S3ErrorCode
from gateway.ops.common import bucket_config
from gateway.responses import S3Response
from gateway.xml.codec import parse, render
from gateway.xml.lifecycle import MAX_CONFIGURATION_BYTES
from lifecycle.expiry import LIFECYCLE
from lifecycle.rules import LifecycleConfiguration, validate


def _with_ids(config: LifecycleConfiguration) -> LifecycleConfiguration:
    rules = tuple(
        rule if rule.id is not None else replace(rule, id=secrets.token_urlsafe(24))
        for rule in config.rules
    )
    return LifecycleConfiguration(rules)


async def put_bucket_lifecycle_configuration(ctx: RequestContext) -> S3Response:
    bucket, meta = ctx.target_bucket, ctx.services.meta
    payload = await ctx.body.read_all(MAX_CONFIGURATION_BYTES)
    config = parse(LifecycleConfiguration, payload, max_size=MAX_CONFIGURATION_BYTES)
    validate(config)
    await meta.put_bucket_config(bucket.name, LIFECYCLE, render(_with_ids(config)).decode())
    ctx.services.lifecycle_rules.forget(bucket.name)
    return S3Response(200)


async def get_bucket_lifecycle_configuration(ctx: RequestContext) -> S3Response:
    document = await bucket_config(ctx, LIFECYCLE, S3ErrorCode.NO_SUCH_LIFECYCLE_CONFIGURATION)
    return S3Response.xml(document.encode())


async def delete_bucket_lifecycle(ctx: RequestContext) -> S3Response:
    bucket, meta = ctx.target_bucket, ctx.services.meta
    await meta.put_bucket_config(bucket.name, LIFECYCLE, None)
    ctx.services.lifecycle_rules.forget(bucket.name)
    return S3Response(204)
