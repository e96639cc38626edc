"""Which key seals a new object's segments, and which key opens a stored version's.

The rules (gateway.s3.sse parses the headers; gateway.codec.keys and gateway.codec.kms
derive the keys):
  - a write asks for SSE-S3, SSE-KMS or SSE-C by header, else gets the bucket's default
    encryption (PutBucketEncryption, the "encryption" bucket config), else is stored plain;
  - SSE-KMS uses the key the request (or the bucket default) names in the bucket owner's
    account, else that account's default key; a disabled or unknown key refuses writes and
    reads with the KMS.* errors S3 relays (400);
  - a read of an SSE-C version needs the same customer key (400 without one, 403 with
    another); SSE-C headers on a version that is not SSE-C are refused with 400.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from gateway.codec.frames import FRAME_SIZE
from gateway.codec.keys import (
    SSE_C,
    SSE_KMS,
    SSE_S3,
    KekFor,
    KeyMismatch,
    Sealing,
    new_data_key,
    open_data_key,
    sse_c_kek,
    sse_s3_kek,
)
from gateway.codec.kms import KeyDisabled, KmsError, kms_kek
from gateway.codec.params import KmsRef, SegmentCodec
from gateway.context import RequestContext, Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Bucket, ObjectVersion, Segment, Upload
from gateway.s3.sse import (
    CUSTOMER_PREFIX,
    CustomerKey,
    KmsAnswer,
    KmsRequest,
    WriteEncryption,
    customer_key,
    require_secure,
    sse_method,
    write_encryption,
)
from gateway.values import quick_init
from gateway.xml.encryption import ServerSideEncryptionConfiguration

ENCRYPTION_CONFIG: Final = "encryption"


def is_secure(services: Services) -> bool:
    """SSE-C keys may travel: over https, or when the operator allows plain http."""
    settings = services.settings
    return settings.scheme == "https" or settings.allow_sse_c_over_http


async def bucket_default(services: Services, bucket: str) -> WriteEncryption:
    """The bucket's default encryption (mode None: it has none)."""
    document = await services.meta.get_bucket_config(bucket, ENCRYPTION_CONFIG)
    if document is None:
        return WriteEncryption(None)
    config = ServerSideEncryptionConfiguration.from_json(document)
    mode = sse_method(config.sse_algorithm)
    if mode != SSE_KMS:
        return WriteEncryption(mode)
    request = KmsRequest(
        config.sse_algorithm, config.kms_master_key_id, None, config.bucket_key_enabled
    )
    return WriteEncryption(mode, None, request)


def require_sigv4(ctx: RequestContext, *modes: str | None) -> None:
    """S3 serves SSE-KMS objects to SigV4 requests only (SigV2 answers InvalidArgument)."""
    if SSE_KMS in modes and ctx.access.facts.signature_version == "AWS":
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Requests specifying Server Side Encryption with AWS KMS managed keys require "
            "AWS Signature Version 4.",
            ArgumentName="Authorization",
        )


@contextmanager
def kms_errors() -> Iterator[None]:
    """KMS refusals as S3 relays them."""
    try:
        yield
    except KeyDisabled as exc:
        raise S3Error(S3ErrorCode.KMS_DISABLED, str(exc)) from exc
    except KmsError as exc:
        raise S3Error(S3ErrorCode.KMS_NOT_FOUND, str(exc)) from exc


@quick_init
@dataclass(frozen=True)
class WriteKeys:
    """A write's sealing (None: plain), the SSE-C key it was given and, for SSE-KMS, what
    the answer says of the KMS key."""

    sealing: Sealing | None
    customer: CustomerKey | None
    kms: KmsAnswer | None = None

    @property
    def mode(self) -> str | None:
        return None if self.sealing is None else self.sealing.mode


async def _kms_sealing(
    services: Services, request: KmsRequest, ref: KmsRef | None, bucket: Bucket, key: str
) -> WriteKeys:
    """SSE-KMS under the current version of the key `request` names (or `ref`'s key: the
    parts of an upload)."""
    kms = services.kms
    with kms_errors():
        if ref is None:
            found = await kms.resolve(bucket.owner, request.key_id)
        else:
            found, _ = await kms.material(ref.key_id, 0)
        found, material = await kms.material(found.key_id, found.current_version)
    bucket_key = bool(request.bucket_key)
    ref = KmsRef(
        found.key_id, found.current_version, request.context, bucket_key, request.algorithm
    )
    kek = kms_kek(material, found.key_id, bucket.name, key, request.context)
    answer = KmsAnswer(request.algorithm, kms.arn(found), request.context, bucket_key)
    return WriteKeys(Sealing(SSE_KMS, kek, ref), None, answer)


async def write_keys(
    services: Services, headers: Mapping[str, str], bucket: Bucket, key: str
) -> WriteKeys:
    """PutObject, CopyObject and CreateMultipartUpload: what seals the new object."""
    requested = write_encryption(headers, secure=is_secure(services))
    default = WriteEncryption(None)
    if requested.mode is None or (requested.kms and requested.kms.bucket_key is None):
        default = await bucket_default(services, bucket.name)
    if requested.mode is None:
        requested = default
    if requested.mode == SSE_C and requested.customer is not None:
        return WriteKeys(Sealing(SSE_C, sse_c_kek(requested.customer.key)), requested.customer)
    if requested.mode == SSE_S3:
        return WriteKeys(Sealing(SSE_S3, sse_s3_kek(services.master_key, bucket.name, key)), None)
    if requested.mode == SSE_KMS:
        request = requested.kms or KmsRequest()
        if request.bucket_key is None and default.kms is not None:
            # No bucket-key header: the bucket's BucketKeyEnabled holds (as S3).
            request = KmsRequest(
                request.algorithm, request.key_id, request.context, default.kms.bucket_key
            )
        return await _kms_sealing(services, request, None, bucket, key)
    return WriteKeys(None, None)


def version_mode(version: ObjectVersion) -> str | None:
    """SSE_S3, SSE_C or None (plain): all segments of a version share one mode."""
    return segments_mode(version.segments)


def segments_mode(segments: tuple[Segment, ...]) -> str | None:
    codec = segments[0].codec if segments else None
    return None if codec is None else codec.mode


@dataclass(frozen=True)
class ReadKeys:
    kek: KekFor | None
    customer: CustomerKey | None
    mode: str | None
    kms: KmsAnswer | None = None


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


def _same(kek: bytes) -> KekFor:
    return lambda _codec: kek


def sse_s3_keks(services: Services, bucket: str, key: str) -> KekFor:
    """SSE-S3 keys: the current master key's, or during a master key rotation the one of
    the current and previous master keys that opens the segment's data key."""
    keks = [sse_s3_kek(master, bucket, key) for master in services.master_keys]
    if len(keks) == 1:
        return _same(keks[0])

    def kek_for(codec: SegmentCodec) -> bytes:
        for kek in keks[:-1]:
            try:
                open_data_key(codec, kek)
            except KeyMismatch:
                continue
            return kek
        return keks[-1]

    return kek_for


async def kms_read_keys(
    services: Services, bucket: str, key: str, segments: tuple[Segment, ...]
) -> ReadKeys:
    """The keys of an SSE-KMS object's segments (each names its key version); refused when
    the key is disabled or gone."""
    keks: dict[tuple[str, int, str | None], bytes] = {}
    answer: KmsAnswer | None = None
    with kms_errors():
        for seg in segments:
            ref = seg.codec.kms if seg.codec is not None else None
            if ref is None or (ref.key_id, ref.key_version, ref.context) in keks:
                continue
            found, material = await services.kms.material(ref.key_id, ref.key_version)
            keks[(ref.key_id, ref.key_version, ref.context)] = kms_kek(
                material, ref.key_id, bucket, key, ref.context
            )
            if answer is None:
                arn = services.kms.arn(found)
                answer = KmsAnswer(ref.algorithm, arn, ref.context, ref.bucket_key)

    def kek_for(codec: SegmentCodec) -> bytes:
        ref = codec.kms
        if ref is None:
            raise S3Error(S3ErrorCode.INTERNAL_ERROR, "an SSE-KMS segment without its key")
        return keks[(ref.key_id, ref.key_version, ref.context)]

    return ReadKeys(kek_for, None, SSE_KMS, answer)


async def read_keys(
    services: Services,
    version: ObjectVersion,
    headers: Mapping[str, str],
    prefix: str = CUSTOMER_PREFIX,
) -> ReadKeys:
    """The key that opens `version` (GetObject, HeadObject, a copy's source with the
    x-amz-copy-source- prefix); the S3 errors for a missing, wrong or unexpected SSE-C key
    and for a disabled or missing KMS key."""
    customer = customer_key(headers, prefix)
    mode = version_mode(version)
    if mode != SSE_C:
        if customer is not None:
            raise S3Error(
                S3ErrorCode.INVALID_REQUEST,
                "The encryption parameters are not applicable to this object.",
            )
        if mode == SSE_S3:
            return ReadKeys(sse_s3_keks(services, version.bucket, version.key), None, mode)
        if mode == SSE_KMS:
            return await kms_read_keys(services, version.bucket, version.key, version.segments)
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
    return ReadKeys(_same(kek), customer, mode)


async def upload_encryption(
    services: Services, headers: Mapping[str, str], bucket: Bucket, key: str
) -> tuple[WriteKeys, SegmentCodec | None]:
    """CreateMultipartUpload: the upload's sealing, and what the upload row keeps of it (a
    sealed key that each UploadPart's key must open; the KMS key and context)."""
    keys = await write_keys(services, headers, bucket, key)
    if keys.sealing is None:
        return keys, None
    sealed, segment_id, _ = new_data_key(keys.sealing.kek)
    codec = SegmentCodec(keys.sealing.mode, sealed, segment_id, FRAME_SIZE, 0, kms=keys.sealing.kms)
    return keys, codec


async def part_keys(
    services: Services, upload: Upload, bucket: Bucket, headers: Mapping[str, str]
) -> WriteKeys:
    """UploadPart / UploadPartCopy: the parts of an upload are sealed as Create asked, an
    SSE-C upload's with the same customer key, an SSE-KMS one's under the current version
    of the same KMS key."""
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
        if check.mode == SSE_KMS and check.kms is not None:
            ref = check.kms
            request = KmsRequest(ref.algorithm, ref.key_id, ref.context, ref.bucket_key)
            return await _kms_sealing(services, request, ref, bucket, upload.key)
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


async def completed_answer(services: Services, version: ObjectVersion) -> KmsAnswer | None:
    """CompleteMultipartUpload of an SSE-KMS upload: what S3 says of its key (the upload is
    complete by then: a key disabled meanwhile does not turn that into an error)."""
    codec = version.segments[0].codec if version.segments else None
    ref = codec.kms if codec is not None else None
    if ref is None:
        return None
    found = await services.meta.get_kms_key(ref.key_id)
    if found is None:
        return None
    return KmsAnswer(ref.algorithm, services.kms.arn(found), ref.context, ref.bucket_key)
