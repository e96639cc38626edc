"""POST /_kv/tus/<bucket>/<key>: a new tus upload of that object (the creation extension),
once gateway/tus/authorize.py has let its signer put the object.

What it makes: a multipart upload (CreateMultipartUpload's row; the object's
Content-Type from the `filetype` metadata tus-js-client and Uppy send; the bucket's
default encryption; a CRC64NVME full-object checksum, as S3 gives new objects) and its
tus row, reached by a new 192-bit token stored as its SHA-256: the upload URL's last
segment, which names this upload and nothing else, until Upload-Expires.
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.access import Access
from gateway.context import Services
from gateway.encryption import upload_encryption
from gateway.meta.base import Bucket, TusUpload, Upload
from gateway.ops.multipart import new_upload_id
from gateway.request_acl import object_write_acl
from gateway.sharing.tokens import new_token, token_hash
from gateway.tus.protocol import (
    MAX_SIZE,
    UPLOAD_TTL,
    TusError,
    content_type_of,
    parse_length,
    parse_metadata,
)

MAX_KEY_BYTES = 1024
# A full-object CRC combines across parts of any size (gateway/s3/multipart.py).
CHECKSUM = ("CRC64NVME", "FULL_OBJECT")


async def create_upload(
    services: Services,
    access: Access,
    bucket: Bucket,
    key: str,
    headers: Mapping[str, str],
) -> tuple[TusUpload, Upload, str]:
    """The new upload (its tus row, its multipart upload) and its token."""
    if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise TusError(400, "The object key must be 1 to 1024 bytes")
    length = parse_length(headers, min(MAX_SIZE, services.settings.max_object_size))
    metadata = parse_metadata(headers.get("upload-metadata"))
    principal = access.principal
    assert principal.user is not None, "signed requests have an account"
    _, encryption = await upload_encryption(services, {}, bucket, key)
    acl = await object_write_acl(
        services.meta, {}, bucket, principal.user, access.acl_settings(bucket.name)
    )
    now = services.clock()
    upload = Upload(
        bucket=bucket.name,
        key=key,
        upload_id=new_upload_id(now),
        initiated=now,
        owner=acl.owner,
        content_type=content_type_of(metadata),
        checksum_algorithm=CHECKSUM[0],
        checksum_type=CHECKSUM[1],
        acl=acl.acl,
        encryption=encryption,
    )
    token = new_token()
    tus = TusUpload(
        token_hash=token_hash(token),
        upload_id=upload.upload_id,
        bucket=bucket.name,
        key=key,
        length=length,
        offset=0,
        part_number=0,
        part_size=0,
        metadata=metadata,
        account=principal.user,
        iam_user=principal.iam_user,
        access_key=principal.access_key or "",
        created=now,
        expires=now + UPLOAD_TTL,
    )
    await services.meta.create_upload(upload)
    try:
        await services.meta.create_tus_upload(tus)
    except BaseException:
        await services.meta.abort_upload(bucket.name, key, upload.upload_id, now=now)
        raise
    return tus, upload, token
