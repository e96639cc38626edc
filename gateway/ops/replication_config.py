"""PutBucketReplication, GetBucketReplication, DeleteBucketReplication.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketReplication.html. The
configuration is validated (gateway/s3/replication.py: versioning Enabled on the source,
each destination ARN a bucket an operator target serves) and stored as the bucket's
"replication" document; GetBucketReplication answers
ReplicationConfigurationNotFoundError when there is none.
"""

from __future__ import annotations

import gateway.xml.replication  # noqa: F401  (registers ReplicationConfiguration's codec)
from gateway.context import RequestContext
from gateway.errors import S3ErrorCode
from gateway.meta.outbox import outbox_of
from gateway.ops.common import bucket_config
from gateway.responses import S3Response
from gateway.s3.replication import (
    MAX_CONFIGURATION_BYTES,
    REPLICATION,
    ReplicationConfiguration,
    validate,
)
from gateway.xml.codec import parse, render


async def put_bucket_replication(ctx: RequestContext) -> S3Response:
    bucket, services = ctx.target_bucket, ctx.services
    payload = await ctx.body.read_all(MAX_CONFIGURATION_BYTES)
    config = parse(ReplicationConfiguration, payload, max_size=MAX_CONFIGURATION_BYTES)
    targets = await outbox_of(services.meta).list_replication_targets()
    served = {b for t in targets for b in t.buckets}
    config = validate(config, versioning=bucket.versioning, destinations=served)
    await services.meta.put_bucket_config(bucket.name, REPLICATION, render(config).decode())
    services.replication_rules.forget(bucket.name)
    return S3Response(200)


async def get_bucket_replication(ctx: RequestContext) -> S3Response:
    document = await bucket_config(
        ctx, REPLICATION, S3ErrorCode.REPLICATION_CONFIGURATION_NOT_FOUND_ERROR
    )
    return S3Response.xml(document.encode())


async def delete_bucket_replication(ctx: RequestContext) -> S3Response:
    bucket, services = ctx.target_bucket, ctx.services
    await services.meta.put_bucket_config(bucket.name, REPLICATION, None)
    services.replication_rules.forget(bucket.name)
    return S3Response(204)
