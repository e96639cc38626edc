"""PutBucketVersioning, GetBucketVersioning, ListObjectVersions.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html. What a versioning
state means for PUT and DELETE lives in the MetaStore (put_object, delete_object); a
bucket with object lock stays Enabled (InvalidBucketState on Suspended).
"""

from __future__ import annotations

from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.ops.common import encoding_type, max_keys, owner_of
from gateway.responses import S3Response
from gateway.xml.codec import parse, render
from gateway.xml.versioning import ListVersionsResult, VersionEntry, VersioningConfiguration

MAX_CONFIG_BYTES = 64 * 1024


async def get_bucket_versioning(ctx: RequestContext) -> S3Response:
    return S3Response.xml(render(VersioningConfiguration(ctx.target_bucket.versioning)))


async def put_bucket_versioning(ctx: RequestContext) -> S3Response:
    config = parse(VersioningConfiguration, await ctx.body.read_all(MAX_CONFIG_BYTES))
    if config.status is None:
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    if config.mfa_delete == "Enabled":
        raise S3Error(S3ErrorCode.NOT_IMPLEMENTED, "MFA Delete is not supported")
    await ctx.services.meta.put_bucket_versioning(ctx.target_bucket.name, config.status)
    return S3Response(200)


async def list_object_versions(ctx: RequestContext) -> S3Response:
    bucket, q = ctx.target_bucket, ctx.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    key_marker, version_id_marker = q.get("key-marker", ""), q.get("version-id-marker", "")
    limit = max_keys(q.get("max-keys"))
    encoding = encoding_type(q.get("encoding-type"))
    if version_id_marker and not key_marker:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "A version-id marker cannot be specified without a key marker.",
            ArgumentName="version-id-marker",
            ArgumentValue=version_id_marker,
        )
    page = await ctx.services.meta.list_object_versions(
        bucket.name,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        version_id_marker=version_id_marker,
        max_keys=limit,
    )
    entries = tuple(
        VersionEntry(
            key=v.key,
            version_id=v.version_id,
            is_latest=v.is_latest,
            last_modified=v.last_modified,
            is_delete_marker=v.is_delete_marker,
            etag=v.etag,
            size=v.size,
            storage_class=v.storage_class,
            owner=owner_of(v.owner),
            checksum_algorithm=next(iter(v.checksums), None),
            checksum_type=v.checksum_type if v.checksums else None,
        )
        for v in page.versions
    )
    result = ListVersionsResult(
        name=bucket.name,
        prefix=prefix,
        key_marker=key_marker,
        version_id_marker=version_id_marker,
        max_keys=limit,
        is_truncated=page.is_truncated,
        entries=entries,
        common_prefixes=tuple(page.common_prefixes),
        delimiter=delimiter,
        next_key_marker=page.next_key_marker if page.is_truncated else None,
        next_version_id_marker=page.next_version_id_marker if page.is_truncated else None,
        encoding_type=encoding,
    )
    return S3Response.xml(render(result))
