"""What the JSON APIs signed like S3 requests share: the admin API (gateway/admin/api.py)
and the share link API (gateway/sharing/api.py).

A call is signed like any S3 request (SigV4 with scope service "s3", header or presigned
query; SigV2 too) with the caller's own keys; an anonymous one is refused. Answers are
JSON, and so are errors: {"error": {"code", "message"}, "requestId"} with the S3 status
(the web console's API, gateway/console/api.py, answers its errors the same way).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from auth.authenticate import parse_auth, verify_auth
from auth.credentials import Principal
from auth.request import SignedRequest
from gateway.audit import AUDIT_CALLER, AUDIT_PRINCIPAL, AuditCaller
from gateway.body import RequestBody
from gateway.context import Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import IamIdentity
from gateway.middlewares.request_id import request_id_of
from gateway.responses import common_headers

MAX_BODY = 16 * 1024  # a request body's bytes at most

# A status and a JSON object.
Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class SignedCall:
    """An authenticated call: who signed it, and its body (checked against the signature
    as it is read)."""

    principal: Principal
    identity: IamIdentity | None
    body: RequestBody


async def serve_signed(
    request: web.Request,
    services: Services,
    raw_path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
    *,
    unsigned: str,
    answer: Callable[[SignedCall], Awaitable[Answer]],
) -> web.Response:
    """`answer` to the authenticated call as a JSON response; an S3Error raised on the
    way (anonymous: AccessDenied with the message `unsigned`) as the JSON error."""
    request_id = request_id_of(request)
    try:
        signed = SignedRequest(request.method, raw_path, tuple(pairs), headers)
        status, payload = await answer(await _authenticate(request, services, signed, unsigned))
    except S3Error as error:
        status, payload = error_json(error, request_id)
    return web.json_response(
        payload, status=status, headers=common_headers(request_id), dumps=dumps
    )


def error_json(error: S3Error, request_id: str) -> Answer:
    return error.status, {
        "error": {"code": error.code.code, "message": error.message},
        "requestId": request_id,
    }


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


async def _authenticate(
    request: web.Request, services: Services, signed: SignedRequest, unsigned: str
) -> SignedCall:
    """Who signed the request (audited as its caller and principal); AccessDenied with the
    message `unsigned` for an anonymous one, the S3 errors of a bad signature otherwise."""
    parsed = parse_auth(signed)
    if parsed is None:
        raise S3Error(S3ErrorCode.ACCESS_DENIED, unsigned)
    request[AUDIT_CALLER] = AuditCaller(parsed.access_key, "REST-HEADER")
    key, principal, identity = await services.credentials.signer(parsed.access_key)
    auth = verify_auth(parsed, signed, key.secret_key, now=services.clock())
    request[AUDIT_PRINCIPAL] = principal
    body = RequestBody(request.content if request.body_exists else None, auth, signed.headers)
    return SignedCall(principal, identity, body)


async def read_body(body: RequestBody) -> bytes:
    """The whole body, MAX_BODY bytes at most (InvalidArgument past that)."""
    too_large = S3Error(S3ErrorCode.INVALID_ARGUMENT, f"The request body exceeds {MAX_BODY} bytes")
    return await body.read_all(MAX_BODY, too_large=too_large)
