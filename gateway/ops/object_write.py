"""PutObject, and the request-header rules every object write shares."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.body import RequestBody
from gateway.codec.checksums import BodyHasher, ChecksumRequest, header_name, requested_checksum
from gateway.codec.checksums import verify_content_md5 as _verify_content_md5
from gateway.context import RequestContext
from gateway.errors import S3Error, S3ErrorCode
from gateway.headers import content_headers, user_metadata
from gateway.meta.base import ObjectVersion, Precondition, Segment
from gateway.object_headers import checksum_headers, version_headers
from gateway.response import S3Response
from gateway.retention import expiration_headers, with_retention, write_retention
from gateway.writepath import discard_blob, store_blob

STORAGE_CLASSES = frozenset(
    {
        "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
        "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE",
    }
)  # fmt: skip
MAX_SINGLE_PUT = 5 * 1024**3
# Headers naming features that are not built yet: refusing them beats silently ignoring.
# (x-amz-tagging and x-amz-object-lock-* are gateway.retention's: write_retention.)
_UNSUPPORTED = {
    "x-amz-server-side-encryption": "Server-side encryption",
    "x-amz-server-side-encryption-customer-algorithm": "SSE-C",
}


def new_version_id(now: float) -> str:
    # Time-ordered so ids sort by creation; random tail for uniqueness across replicas.
    return f"{int(now * 1_000_000):016x}{secrets.token_hex(8)}"


@dataclass(frozen=True)
class ObjectFields:
    """What an upload's request headers say about the object it creates."""

    content_type: str | None
    headers: Mapping[str, str]
    user_meta: Mapping[str, str]
    storage_class: str


# Canned ACLs that keep an object private; public ones need bucket policies (not built yet).
PRIVATE_ACLS = frozenset({"private", "bucket-owner-full-control", "bucket-owner-read"})


def refuse_unsupported(headers: Mapping[str, str]) -> None:
    acl = headers.get("x-amz-acl")
    if acl is not None and acl not in PRIVATE_ACLS:
        raise S3Error(S3ErrorCode.NOT_IMPLEMENTED, f"Canned ACL {acl} is not supported yet")
    for name, feature in _UNSUPPORTED.items():
        value = headers.get(name)
        if value and not (name == "x-amz-object-lock-legal-hold" and value == "OFF"):
            raise S3Error(S3ErrorCode.NOT_IMPLEMENTED, f"{feature} is not supported yet")


def object_fields(headers: Mapping[str, str]) -> ObjectFields:
    refuse_unsupported(headers)
    content_type, content = content_headers(headers)
    storage_class = headers.get("x-amz-storage-class", "STANDARD")
    if storage_class not in STORAGE_CLASSES:
        raise S3Error(S3ErrorCode.INVALID_STORAGE_CLASS, StorageClassRequested=storage_class)
    return ObjectFields(content_type, content, user_metadata(headers), storage_class)


def put_precondition(headers: Mapping[str, str]) -> Precondition | None:
    """If-None-Match: * and If-Match on writes (S3 conditional writes)."""
    if_none_match = headers.get("if-none-match")
    if_match = headers.get("if-match")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise S3Error(S3ErrorCode.NOT_IMPLEMENTED, "If-None-Match on writes accepts only *")
    if if_none_match is None and if_match is None:
        return None
    etag = if_match.strip().removeprefix("W/").strip('"') if if_match is not None else None
    return Precondition(if_match=etag, if_none_match_any=if_none_match is not None)


def upload_verifier(
    headers: Mapping[str, str], body: RequestBody, checksum: ChecksumRequest
) -> Callable[[BodyHasher], None]:
    """Checks Content-MD5 and the x-amz-checksum-* (header or trailer) once the body ended."""

    def verify(hasher: BodyHasher) -> None:
        _verify_content_md5(headers.get("content-md5"), base64.b64decode(hasher.md5_b64()))
        if checksum.algorithm is None:
            return
        expected = checksum.expected
        if checksum.in_trailer:
            expected = body.trailers.get(header_name(checksum.algorithm))
            if expected is None:
                raise S3Error(
                    S3ErrorCode.INVALID_REQUEST,
                    f"The trailer {header_name(checksum.algorithm)} was declared but not sent",
                )
        if expected is not None and expected != hasher.checksum_b64():
            raise S3Error(
                S3ErrorCode.BAD_DIGEST,
                f"The {checksum.algorithm} you specified did not match the calculated checksum.",
            )

    return verify


def declared_size_check(body: RequestBody, limit: int = MAX_SINGLE_PUT) -> None:
    if body.declared_length is not None and body.declared_length > limit:
        raise S3Error(
            S3ErrorCode.ENTITY_TOO_LARGE,
            ProposedSize=str(body.declared_length),
            MaxSizeAllowed=str(limit),
        )


async def put_object(ctx: RequestContext) -> S3Response:
    bucket, key, meta = ctx.target_bucket, ctx.target_key, ctx.services.meta
    headers = ctx.headers
    fields = object_fields(headers)
    precondition = put_precondition(headers)
    checksum = requested_checksum(headers)
    declared_size_check(ctx.body)
    retention = await write_retention(ctx, bucket)
    if precondition is not None:
        # Fail before streaming the body; put_object re-checks atomically at commit.
        await _check_precondition_early(ctx, precondition)
    stored = await store_blob(
        ctx.services,
        ctx.body,
        checksum_algorithm=checksum.algorithm,
        verify=upload_verifier(headers, ctx.body, checksum),
    )
    now = ctx.services.clock()
    version = ObjectVersion(
        bucket=bucket.name,
        key=key,
        version_id=new_version_id(now),
        last_modified=now,
        size=stored.size,
        etag=stored.md5_hex,
        owner=ctx.principal.user or bucket.owner,
        content_type=fields.content_type,
        headers=fields.headers,
        user_meta=fields.user_meta,
        checksums={checksum.algorithm: stored.checksum_b64}
        if checksum.algorithm and stored.checksum_b64
        else {},
        checksum_type="FULL_OBJECT" if checksum.algorithm else None,
        segments=(Segment(stored.blob_id, stored.size),),
        storage_class=fields.storage_class,
    )
    version = with_retention(version, retention.fields(now))
    try:
        saved = await meta.put_object(version, precondition)
    except BaseException:
        await discard_blob(ctx.services, stored.blob_id)
        raise
    out = {"ETag": f'"{saved.etag}"', **checksum_headers(saved)}
    out.update(version_headers(bucket, saved.version_id))
    out.update(await expiration_headers(ctx.services, saved))
    return S3Response(200, out)


async def _check_precondition_early(ctx: RequestContext, precondition: Precondition) -> None:
    current = await ctx.services.meta.get_object(ctx.target_bucket.name, ctx.target_key)
    exists = current is not None and not current.is_delete_marker
    if precondition.if_none_match_any and exists:
        raise S3Error(S3ErrorCode.PRECONDITION_FAILED, Condition="If-None-Match")
    if precondition.if_match is not None:
        if not exists:
            raise S3Error(S3ErrorCode.NO_SUCH_KEY, Key=ctx.target_key)
        assert current is not None
        if precondition.if_match not in ("*", current.etag):
            raise S3Error(S3ErrorCode.PRECONDITION_FAILED, Condition="If-Match")
