"""Who may do what to a tus upload: the access engine (gateway/access.py), asked as a
multipart upload's requests would ask it.

Creation (POST) is a request signed like any S3 request (SigV4 or SigV2, in headers or,
what a browser can carry, as a presigned URL) whose principal may s3:PutObject the key;
anonymous requests are refused, so every upload URL comes from someone accountable.

The upload's own requests carry no signature, only the upload URL's token (a browser
holds nothing else); they act as the key that signed the creation, as it stands now
(CredentialCache.holder: a deactivated key, a deleted user, a revoked or expired session
stop the upload) and must be allowed what the multipart request doing the same needs:
PATCH as UploadPart (s3:PutObject), HEAD as ListParts (s3:ListMultipartUploadParts),
DELETE as AbortMultipartUpload (s3:AbortMultipartUpload), with the request's own time,
address and transport as condition keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from auth.authenticate import parse_auth, verify_auth
from auth.credentials import Principal, session_token
from auth.request import AuthResult, SignedRequest
from gateway.access import Access, RequestFacts
from gateway.audit import AUDIT_CALLER, AUDIT_PRINCIPAL, AuditCaller
from gateway.context import Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Bucket, IamIdentity, TusUpload
from gateway.tus.protocol import TusError

# The multipart operation each tus method on an upload stands for.
OPERATIONS = {"PATCH": "UploadPart", "HEAD": "ListParts", "DELETE": "AbortMultipartUpload"}


def _access(
    request: web.Request,
    services: Services,
    principal: Principal,
    identity: IamIdentity | None,
    facts: RequestFacts,
) -> Access:
    return Access(
        services.meta, services.access_cache, principal, identity, facts, services.trusted_proxies
    )


def _facts(
    request: web.Request,
    operation: str,
    bucket: str,
    key: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    now: float,
    **auth: str | None,
) -> RequestFacts:
    return RequestFacts(
        operation=operation,
        bucket=bucket,
        key=key,
        headers=headers,
        query=query,
        peer=request.remote or "",
        secure=request.secure,
        now=now,
        **auth,
    )


async def _bucket(services: Services, name: str) -> Bucket:
    bucket = await services.meta.get_bucket(name)
    if bucket is None:
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=name)
    return bucket


async def creator(
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
    auth_type = "REST-QUERY-STRING" if parsed.scheme.endswith("query") else "REST-HEADER"
    request[AUDIT_CALLER] = AuditCaller(parsed.access_key, auth_type)
    signer, principal, identity = await services.credentials.signer(
        parsed.access_key, token=session_token(headers, query), now=now
    )
    auth = verify_auth(
        parsed,
        signed,
        signer.secret_key,
        now=now,
        max_presigned=services.settings.max_presigned_expiry,
    )
    request[AUDIT_PRINCIPAL] = principal
    version = "AWS4-HMAC-SHA256" if parsed.scheme.startswith("v4") else "AWS"
    facts = _facts(
        request, "PutObject", bucket_name, key, headers, query, now,
        signature_version=version, auth_type=auth_type,
    )  # fmt: skip
    access = _access(request, services, principal, identity, facts)
    bucket = await _bucket(services, bucket_name)
    await access.check(bucket)
    return access, bucket, auth


async def holder(
    request: web.Request, services: Services, tus: TusUpload, headers: Mapping[str, str]
) -> None:
    """The upload's creator, as now, allowed what this method stands for; S3Error
    otherwise (AccessDenied, InvalidAccessKeyId, InvalidToken, ExpiredToken)."""
    operation = OPERATIONS.get(request.method)
    if operation is None:
        raise TusError(405, f"{request.method} is not a tus method for an upload")
    now = services.clock()
    principal, identity = await services.credentials.holder(tus.access_key, now=now)
    request[AUDIT_PRINCIPAL] = principal
    facts = _facts(request, operation, tus.bucket, tus.key, headers, {}, now)
    access = _access(request, services, principal, identity, facts)
    await access.check(await _bucket(services, tus.bucket))
