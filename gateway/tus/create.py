"""POST /_kv/tus/<bucket>/<key>: a new tus upload of that object (the creation extension).

Who may: a request signed like any S3 request (SigV4 or SigV2, in headers or, what a
browser can carry, as a presigned URL) whose principal the access engine allows
s3:PutObject on the key, as for PutObject itself (gateway/access.py). Anonymous
requests are refused: the upload's URL must come from someone accountable.

What it makes: a multipart upload (CreateMultipartUpload's row; the object's
Content-Type from the `filetype` metadata tus-js-client and Uppy send; the bucket's
default encryption; a CRC64NVME full-object checksum, as S3 gives new objects) and its
tus row, reached by a new 192-bit token stored as its SHA-256. The token is the upload
URL's last segment: whoever holds that URL may send, ask for and cancel this upload's
bytes until Upload-Expires, and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from auth.authenticate import parse_auth, verify_auth
from auth.credentials import session_token
from auth.request import AuthResult, SignedRequest
from gateway.access import Access, RequestFacts
from gateway.audit import AUDIT_CALLER, AUDIT_PRINCIPAL, AuditCaller
from gateway.context import Services
from gateway.encryption import upload_encryption
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Bucket, TusUpload, Upload
from gateway.ops.multipart import new_upload_id
from gateway.request_acl import object_write_acl
from gateway.sharing.tokens import new_token, token_hash
from gateway.tus.protocol import UPLOAD_TTL, TusError, content_type_of, parse_length, parse_metadata

MAX_KEY_BYTES = 1024
# A full-object CRC combines across parts of any size (gateway/s3/multipart.py).
CHECKSUM = ("CRC64NVME", "FULL_OBJECT")


async def authorize(
    request: web.Request,
    services: Services,
    raw_path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
    bucket_name: str,
    key: str,
) -> tuple[Access, Bucket, AuthResult]:
    """The signed creator, allowed s3:PutObject on the key, and what the signature says
    of the body (creation-with-upload); S3Error otherwise."""
    signed = SignedRequest(request.method, raw_path, tuple(pairs), headers)
    now = services.clock()
    parsed = parse_auth(signed)
    if parsed is None:
        raise S3Error(S3ErrorCode.ACCESS_DENIED, "Creating a tus upload needs a signed request.")
    query = dict(pairs)
    presigned = parsed.scheme.endswith("query")
    request[AUDIT_CALLER] = AuditCaller(
        parsed.access_key, "REST-QUERY-STRING" if presigned else "REST-HEADER"
    )
    signer, principal, identity = await services.credentials.signer(
        parsed.access_key, token=session_token(headers, query), now=now
    )
    auth = verify_auth(parsed, signed, signer.secret_key, now=now)
    request[AUDIT_PRINCIPAL] = principal
    facts = RequestFacts(
        operation="PutObject",
        bucket=bucket_name,
        key=key,
        headers=headers,
        query=query,
        peer=request.remote or "",
        secure=request.secure,
        now=now,
        signature_version="AWS4-HMAC-SHA256" if parsed.scheme.startswith("v4") else "AWS",
        auth_type="REST-QUERY-STRING" if presigned else "REST-HEADER",
    )
    access = Access(
        services.meta,
        services.access_cache,
        principal,
        identity,
        facts,
        services.trusted_proxies,
    )
    bucket = await services.meta.get_bucket(bucket_name)
    if bucket is None:
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=bucket_name)
    await access.check(bucket)
    return access, bucket, auth


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
    length = parse_length(headers)
    metadata = parse_metadata(headers.get("upload-metadata"))
    principal = access.principal
    assert principal.user is not None, "signed requests have an account"
    _, encryption = await upload_encryption(services, {}, bucket.name, key)
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
