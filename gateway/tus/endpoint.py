"""The tus endpoint: dispatch hands it every request under /_kv/tus/ (paths.py).

    OPTIONS  any tus path       204, what the server offers (and CORS preflights)
    POST     /_kv/tus/<b>/<k>   201, Location: /_kv/tus/<token>   (create.py)
    HEAD     /_kv/tus/<token>   200, Upload-Offset, Upload-Length
    PATCH    /_kv/tus/<token>   204, Upload-Offset                 (append.py, complete.py)
    DELETE   /_kv/tus/<token>   204: the multipart upload is aborted (termination)

Answers are tus's, not S3 error documents: a status and a short text body. 404 for a
token that never was or whose upload is over (completed, terminated, aborted through S3,
collected); 410 once it expired; 409 a wrong offset; 412 no Tus-Resumable; 413 past
Upload-Length or Tus-Max-Size; 415 a PATCH that is not application/offset+octet-stream;
460 an Upload-Checksum that does not match (nothing of that PATCH is kept). S3's own
refusals (AccessDenied, NoSuchBucket, SlowDown) keep their status, with their code as text.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from aiohttp import web

from auth.authenticate import anonymous_result
from auth.request import AuthResult
from gateway.audit import AUDIT_TARGET, AuditTarget
from gateway.body import RequestBody
from gateway.context import Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.expect import send_continue
from gateway.meta.base import TusUpload
from gateway.middlewares.request_id import request_id_of
from gateway.responses import common_headers
from gateway.sharing.tokens import is_token, token_hash
from gateway.tus.append import append, empty_part
from gateway.tus.authorize import creator, holder
from gateway.tus.body import PatchBody
from gateway.tus.complete import complete
from gateway.tus.create import create_upload
from gateway.tus.paths import TusTarget, is_tus_path, tus_target, upload_path
from gateway.tus.protocol import (
    MAX_SIZE,
    OFFSET_CONTENT_TYPE,
    TUS_VERSION,
    TusError,
    capability_headers,
    check_declared,
    check_offset,
    check_patch_type,
    cors_headers,
    http_date,
    parse_checksum,
    require_version,
)

Answer = tuple[int, dict[str, str]]
_REASONS = {460: "Checksum Mismatch"}


async def serve_tus(
    request: web.Request,
    services: Services,
    raw_path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
) -> web.StreamResponse | None:
    """The answer to a tus request; None for any other request."""
    if not is_tus_path(request.host, raw_path, services.settings.domain):
        return None
    await send_continue(request)  # gateway/expect.py: S3 requests send theirs after authorization
    text = ""
    try:
        status, out = await _serve(request, services, raw_path, pairs, headers)
    except TusError as error:
        status, out, text = error.status, {}, error.message
    except S3Error as error:
        status, out, text = error.status, {}, f"{error.code.code}: {error.message}"
    answer = {
        **common_headers(request_id_of(request)),
        "Tus-Resumable": TUS_VERSION,
        **cors_headers(headers),
        **out,
    }
    if text:
        answer["Content-Type"] = "text/plain; charset=utf-8"
    body = text.encode() + b"\n" if text and request.method != "HEAD" else None
    return web.Response(status=status, reason=_REASONS.get(status), body=body, headers=answer)


async def _serve(
    request: web.Request,
    services: Services,
    raw_path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
) -> Answer:
    method = request.method
    if method == "OPTIONS":
        return 204, capability_headers(min(MAX_SIZE, services.settings.max_object_size))
    target = tus_target(raw_path)
    require_version(headers)
    if target.token is None:
        if method != "POST" or target.bucket is None or target.key is None:
            raise TusError(405 if target.bucket else 404, "POST /_kv/tus/<bucket>/<key>")
        return await _create(request, services, raw_path, pairs, headers, target)
    tus = await _find(request, services, target.token)
    await holder(request, services, tus, headers)
    if method == "HEAD":
        return 200, _head(tus)
    if method == "PATCH":
        return await _patch(request, services, headers, tus)
    if method == "DELETE":
        return await _terminate(services, tus)
    raise TusError(405, f"{method} is not a tus method for an upload")


def _expiry(tus: TusUpload) -> dict[str, str]:
    return {"Upload-Expires": http_date(tus.expires)}


def _encode_metadata(metadata: Mapping[str, str]) -> str:
    return ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" if v else k for k, v in metadata.items()
    )


async def _find(request: web.Request, services: Services, token: str) -> TusUpload:
    if not is_token(token):
        raise TusError(404, "No such upload")
    tus = await services.meta.get_tus_upload(token_hash(token))
    if tus is None:
        raise TusError(404, "No such upload")
    request[AUDIT_TARGET] = AuditTarget(f"Tus{request.method.title()}", tus.bucket, tus.key, None)
    if services.clock() >= tus.expires:
        # Expired: its parts are of no more use to anyone (the row goes with the upload).
        try:
            await services.meta.abort_upload(
                tus.bucket, tus.key, tus.upload_id, now=services.clock()
            )
        except S3Error as error:
            if error.code is not S3ErrorCode.NO_SUCH_UPLOAD:
                raise
        raise TusError(410, "The upload has expired")
    return tus


def _head(tus: TusUpload) -> dict[str, str]:
    out = {
        "Upload-Offset": str(tus.offset),
        "Upload-Length": str(tus.length),
        "Cache-Control": "no-store",
        **_expiry(tus),
    }
    if tus.metadata:
        out["Upload-Metadata"] = _encode_metadata(tus.metadata)
    return out


def _body(request: web.Request, headers: Mapping[str, str], auth: AuthResult) -> RequestBody:
    return RequestBody(request.content if request.body_exists else None, auth, headers)


async def _write(services: Services, tus: TusUpload, body: PatchBody) -> TusUpload:
    """The body's bytes appended, and the object completed once the last one is in."""
    upload = await services.meta.get_upload(tus.bucket, tus.key, tus.upload_id)
    if upload is None:
        raise TusError(404, "No such upload")
    tus = await append(services, upload, tus, body)
    if tus.offset == tus.length and not body.interrupted:
        if tus.part_number == 0:
            tus = await empty_part(services, upload, tus)
        await complete(services, upload, tus)
    return tus


async def _patch(
    request: web.Request, services: Services, headers: Mapping[str, str], tus: TusUpload
) -> Answer:
    check_patch_type(headers)
    check_offset(headers, tus.offset)
    check_declared(headers, tus.offset, tus.length)
    checksum = parse_checksum(headers.get("upload-checksum"))
    body = PatchBody(
        _body(request, headers, anonymous_result()),
        limit=tus.length - tus.offset,
        checksum=checksum,
    )
    tus = await _write(services, tus, body)
    return 204, {"Upload-Offset": str(tus.offset), **_expiry(tus)}


async def _terminate(services: Services, tus: TusUpload) -> Answer:
    try:
        await services.meta.abort_upload(tus.bucket, tus.key, tus.upload_id, now=services.clock())
    except S3Error as error:
        if error.code is S3ErrorCode.NO_SUCH_UPLOAD:
            raise TusError(404, "No such upload") from None
        raise
    return 204, {}


async def _create(
    request: web.Request,
    services: Services,
    raw_path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
    target: TusTarget,
) -> Answer:
    assert target.bucket is not None and target.key is not None
    request[AUDIT_TARGET] = AuditTarget("TusCreate", target.bucket, target.key, None)
    access, bucket, auth = await creator(
        request, services, raw_path, pairs, headers, target.bucket, target.key
    )
    tus, _, token = await create_upload(services, access, bucket, target.key, headers)
    out = {"Location": f"{request.scheme}://{request.host}{upload_path(token)}", **_expiry(tus)}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == OFFSET_CONTENT_TYPE or tus.length == 0:
        # creation-with-upload: the body is the upload's first bytes.
        check_declared(headers, 0, tus.length)
        checksum = parse_checksum(headers.get("upload-checksum"))
        body = PatchBody(_body(request, headers, auth), limit=tus.length, checksum=checksum)
        try:
            tus = await _write(services, tus, body)
        except BaseException:
            # Refused (a checksum, a length): the client never learns this upload's URL.
            await _discard(services, tus)
            raise
        out["Upload-Offset"] = str(tus.offset)
    return 201, out


async def _discard(services: Services, tus: TusUpload) -> None:
    try:
        await services.meta.abort_upload(tus.bucket, tus.key, tus.upload_id, now=services.clock())
    except S3Error as error:
        if error.code is not S3ErrorCode.NO_SUCH_UPLOAD:  # completed or gone: nothing to do
            raise
