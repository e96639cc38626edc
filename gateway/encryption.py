"""Which key seals a new object's segments, and which key opens a stored version's.

The rules (gateway.s3.sse parses the headers; gateway.codec.keys derives the keys):
  - a write asks for SSE-S3 or SSE-C by header, else gets the bucket's default encryption
    (PutBucketEncryption, the "encryption" bucket config), else is stored plain;
  - a read of an SSE-C version needs the same customer key (400 without one, 403 with
    another); SSE-C headers on a version that is not SSE-C are refused with 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from gateway.codec.frames import FRAME_SIZE
from gateway.codec.keys import (
    SSE_C,
    SSE_S3,
    KeyMismatch,
    Sealing,
    new_data_key,
    open_data_key,
    sse_c_kek,
    sse_s3_kek,
)
from gateway.codec.params import SegmentCodec
from gateway.context import Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ObjectVersion, Segment, Upload
from gateway.s3.sse import (
    CUSTOMER_PREFIX,
    CustomerKey,
    WriteEncryption,
    customer_key,
    require_secure,
    sse_method,
    write_encryption,
)
from gateway.xml.encryption import ServerSideEncryptionConfiguration

ENCRYPTION_CONFIG: Final = "encryption"


def is_secure(services: Services) -> bool:
    """SSE-C keys may travel: over https, or when the operator allows plain http."""
    settings = services.settings
    return settings.scheme == "https" or settings.allow_sse_c_over_http


async def bucket_default(services: Services, bucket: str) -> str | None:
    """The mode of the bucket's default encryption, if it has one."""
    document = await services.meta.get_bucket_config(bucket, ENCRYPTION_CONFIG)
    if document is None:
        return None
    config = ServerSideEncryptionConfiguration.from_json(document)
    return sse_method(config.sse_algorithm)


@dataclass(frozen=True)
class WriteKeys:
    """A write's sealing (None: plain) and the SSE-C key it was given, for the answer."""

    sealing: Sealing | None
    customer: CustomerKey | None

    @property
    def mode(self) -> str | None:
        return None if self.sealing is None else self.sealing.mode


def sealing_for(
    services: Services, requested: WriteEncryption, bucket: str, key: str
) -> Sealing | None:
    """The sealing of `requested` (mode already resolved) for object `key` of `bucket`."""
    if requested.mode == SSE_C and requested.customer is not None:
        return Sealing(SSE_C, sse_c_kek(requested.customer.key))
    if requested.mode == SSE_S3:
        return Sealing(SSE_S3, sse_s3_kek(services.master_key, bucket, key))
    return None


async def write_keys(
    services: Services, headers: Mapping[str, str], bucket: str, key: str
) -> WriteKeys:
    """PutObject, CopyObject and CreateMultipartUpload: what seals the new object."""
    requested = write_encryption(headers, secure=is_secure(services))
    if requested.mode is None:
        requested = WriteEncryption(await bucket_default(services, bucket))
    return WriteKeys(sealing_for(services, requested, bucket, key), requested.customer)


def version_mode(version: ObjectVersion) -> str | None:
    """SSE_S3, SSE_C or None (plain): all segments of a version share one mode."""
    return segments_mode(version.segments)


def segments_mode(segments: tuple[Segment, ...]) -> str | None:
    codec = segments[0].codec if segments else None
    return None if codec is None else codec.mode


@dataclass(frozen=True)
class ReadKeys:
    kek: bytes | None
    customer: CustomerKey | None
    mode: str | None


def _customer_kek(
    services: Services, codec: SegmentCodec, customer: CustomerKey, mismatch: S3Error
) -> bytes:
    require_secure(is_secure(services))
    kek = sse_c_kek(customer.key)
    try:
        open_data_key(codec, kek)
    except KeyMismatch as exc:
        raise mismatch from exc
    return kek


def read_keys(
    services: Services,
    version: ObjectVersion,
    headers: Mapping[str, str],
    prefix: str = CUSTOMER_PREFIX,
) -> ReadKeys:
    """The key that opens `version` (GetObject, HeadObject, a copy's source with the
    x-amz-copy-source- prefix); the S3 errors for a missing, wrong or unexpected SSE-C key."""
    customer = customer_key(headers, prefix)
    mode = version_mode(version)
    if mode != SSE_C:
        if customer is not None:
            raise S3Error(
                S3ErrorCode.INVALID_REQUEST,
                "The encryption parameters are not applicable to this object.",
            )
        if mode == SSE_S3:
            return ReadKeys(
                sse_s3_kek(services.master_key, version.bucket, version.key), None, mode
            )
        return ReadKeys(None, None, mode)
    if customer is None:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "The object was stored using a form of Server Side Encryption. The correct "
            "parameters must be provided to retrieve the object.",
        )
    codec = version.segments[0].codec
    assert codec is not None  # mode is SSE_C
    kek = _customer_kek(services, codec, customer, S3Error(S3ErrorCode.ACCESS_DENIED))
    return ReadKeys(kek, customer, mode)


async def upload_encryption(
    services: Services, headers: Mapping[str, str], bucket: str, key: str
) -> tuple[WriteKeys, SegmentCodec | None]:
    """CreateMultipartUpload: the upload's sealing, and what the upload row keeps of it (a
    sealed key that each UploadPart's key must open)."""
    keys = await write_keys(services, headers, bucket, key)
    if keys.sealing is None:
        return keys, None
    sealed, segment_id, _ = new_data_key(keys.sealing.kek)
    return keys, SegmentCodec(keys.sealing.mode, sealed, segment_id, FRAME_SIZE, 0)


def part_keys(services: Services, upload: Upload, headers: Mapping[str, str]) -> WriteKeys:
    """UploadPart / UploadPartCopy: the parts of an upload are sealed as Create asked, an
    SSE-C upload's with the same customer key."""
    customer = customer_key(headers)
    check = upload.encryption
    if check is None or check.mode != SSE_C:
        if customer is not None:
            raise S3Error(
                S3ErrorCode.INVALID_REQUEST,
                "The encryption parameters are not applicable to this object.",
            )
        if check is None:
            return WriteKeys(None, None)
        kek = sse_s3_kek(services.master_key, upload.bucket, upload.key)
        return WriteKeys(Sealing(SSE_S3, kek), None)
    if customer is None:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "The multipart upload initiate requested encryption. Subsequent part requests "
            "must include the appropriate encryption parameters.",
        )
    mismatch = S3Error(
        S3ErrorCode.INVALID_ARGUMENT,
        "The provided encryption parameters did not match the ones used originally.",
    )
    return WriteKeys(Sealing(SSE_C, _customer_kek(services, check, customer, mismatch)), customer)
