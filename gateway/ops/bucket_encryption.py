"""PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html. The rule is
the bucket's "encryption" document (JSON); writes without SSE headers get it
(gateway.encryption.write_keys). Without one, GetBucketEncryption answers
ServerSideEncryptionConfigurationNotFoundError (404). An aws:kms rule names its key by
KMSMasterKeyID (none: the account's default key) and may enable bucket keys; the key is
looked up when an object is written, as S3 does.
"""

from __future__ import annotations

from gateway.context import RequestContext
from gateway.encryption import ENCRYPTION_CONFIG
from gateway.errors import S3Error, S3ErrorCode
from gateway.ops.common import bucket_config
from gateway.responses import S3Response
from gateway.s3.sse import AES256, sse_method
from gateway.xml.codec import parse, render
from gateway.xml.encryption import MAX_CONFIGURATION_BYTES, ServerSideEncryptionConfiguration


async def put_bucket_encryption(ctx: RequestContext) -> S3Response:
    payload = await ctx.body.read_all(MAX_CONFIGURATION_BYTES)
    config = parse(ServerSideEncryptionConfiguration, payload, max_size=MAX_CONFIGURATION_BYTES)
    try:
        sse_method(config.sse_algorithm)
    except S3Error as exc:
        raise S3Error(S3ErrorCode.MALFORMED_XML) from exc
    if config.sse_algorithm == AES256 and config.kms_master_key_id is not None:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms "
            "or aws:kms:dsse",
            ArgumentName="ApplyServerSideEncryptionByDefault",
        )
    await ctx.services.meta.put_bucket_config(
        ctx.target_bucket.name, ENCRYPTION_CONFIG, config.to_json()
    )
    return S3Response(200)


async def get_bucket_encryption(ctx: RequestContext) -> S3Response:
    document = await bucket_config(ctx, ENCRYPTION_CONFIG, S3ErrorCode.SSE_CONFIGURATION_NOT_FOUND)
    return S3Response.xml(render(ServerSideEncryptionConfiguration.from_json(document)))


async def delete_bucket_encryption(ctx: RequestContext) -> S3Response:
    await ctx.services.meta.put_bucket_config(ctx.target_bucket.name, ENCRYPTION_CONFIG, None)
    return S3Response(204)
