"""The IAM and STS query APIs on the S3 port: authenticate, authorize, run, render.

How this works: dispatch hands over every request that auth/iam/scope.py says is for
a query API, before any S3 routing. Here:

    body  = the form body, at most MAX_FORM_BYTES (RequestEntityTooLarge past that)
    key   = parse_auth(..., services={"iam", "sts"}) and verify_auth, as for S3, with the
            body's SHA-256 as the payload hash (SDKs send no x-amz-content-sha256 here)
    call  = Action -> Operation (auth/iam/operations.py, auth/sts/operations.py)
    authorize(caller, iam:<Action>, the entity's ARN)    (auth/iam/authorize.py)
    reply = <ActionResponse> or <ErrorResponse>           (auth/iam/render.py)

Every failure, authentication's S3Errors included (translated by table), renders as the
query API's ErrorResponse; nothing here goes through the S3 error document.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence

from aiohttp import web

from auth.authenticate import parse_auth, verify_auth
from auth.credentials import Principal, session_token
from auth.iam.api import Api, Call, Result
from auth.iam.authorize import Caller, authorize
from auth.iam.errors import IamError, IamErrorCode
from auth.iam.form import FORM_CONTENT_TYPE, MAX_FORM_BYTES, Params, decode_form
from auth.iam.operations import IAM_API
from auth.iam.render import render_error, render_response
from auth.iam.scope import QUERY_SERVICES
from auth.request import PayloadMode, SignedRequest
from auth.sts.operations import STS_API
from gateway.context import Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import AccessKey, IamIdentity
from gateway.middlewares.request_id import request_id_of

log = logging.getLogger("kloudvault.iam")

APIS: Mapping[str, Api] = {api.service: api for api in (IAM_API, STS_API)}

# Authentication and store failures (S3Error) as the query API names them.
_FROM_S3: Mapping[S3ErrorCode, IamErrorCode] = {
    S3ErrorCode.SIGNATURE_DOES_NOT_MATCH: IamErrorCode.SIGNATURE_DOES_NOT_MATCH,
    S3ErrorCode.REQUEST_TIME_TOO_SKEWED: IamErrorCode.REQUEST_EXPIRED,
    S3ErrorCode.EXPIRED_PRESIGNED_REQUEST: IamErrorCode.REQUEST_EXPIRED,
    S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED: IamErrorCode.INCOMPLETE_SIGNATURE,
    S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR: IamErrorCode.INCOMPLETE_SIGNATURE,
    S3ErrorCode.INVALID_ARGUMENT: IamErrorCode.INCOMPLETE_SIGNATURE,
    S3ErrorCode.INVALID_REQUEST: IamErrorCode.INCOMPLETE_SIGNATURE,
    S3ErrorCode.ACCESS_DENIED: IamErrorCode.ACCESS_DENIED,
    S3ErrorCode.SLOW_DOWN: IamErrorCode.THROTTLING,
    S3ErrorCode.SERVICE_UNAVAILABLE: IamErrorCode.SERVICE_UNAVAILABLE,
}


def translate(err: S3Error) -> IamError:
    code = _FROM_S3.get(err.code, IamErrorCode.INTERNAL_FAILURE)
    keep = code is not IamErrorCode.INTERNAL_FAILURE and code is not IamErrorCode.REQUEST_EXPIRED
    return IamError(code, err.message if keep else None)


async def serve_query_api(
    request: web.Request,
    services: Services,
    service: str,
    raw_path: str,
    pairs: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
) -> web.Response:
    """Answer one IAM or STS request (`service` from auth/iam/scope.py)."""
    api = APIS[service]
    request_id = request_id_of(request)
    try:
        form = await _read_form(request)
        if _unsigned_sts(pairs, headers, form):
            api = STS_API
        action, result = await _serve(request, services, api, raw_path, pairs, headers, form)
        body, status = render_response(action, api.namespace, result, request_id), 200
    except IamError as err:
        body, status = render_error(err, api.namespace, request_id), err.status
    except S3Error as err:
        failure = translate(err)
        body, status = render_error(failure, api.namespace, request_id), failure.status
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        failure = IamError(IamErrorCode.INTERNAL_FAILURE)
        body, status = render_error(failure, api.namespace, request_id), failure.status
    return web.Response(status=status, body=body, content_type="text/xml")


# STS actions called without a signature: the web identity token is the credential.
UNSIGNED_STS_ACTIONS = frozenset({"AssumeRoleWithWebIdentity"})


def _unsigned_sts(
    pairs: Sequence[tuple[str, str]], headers: Mapping[str, str], body: bytes
) -> bool:
    """An unsigned call of an STS action that needs no signature (auth/iam/scope.py sends
    every unsigned query API request here as "iam": only the Action tells)."""
    if "authorization" in headers or any(name.startswith("X-Amz-") for name, _ in pairs):
        return False
    try:
        form = decode_form(body) if body else []
    except IamError:
        return False
    action = Params.of(pairs, form).get("Action")
    return action in UNSIGNED_STS_ACTIONS


async def _read_form(request: web.Request) -> bytes:
    if not request.body_exists:
        return b""
    if (request.content_length or 0) > MAX_FORM_BYTES:
        raise IamError(IamErrorCode.REQUEST_ENTITY_TOO_LARGE)
    data = bytearray()
    async for chunk in request.content.iter_chunked(16384):
        data += chunk
        if len(data) > MAX_FORM_BYTES:  # chunked transfer: no length said up front
            raise IamError(IamErrorCode.REQUEST_ENTITY_TOO_LARGE)
    return bytes(data)


async def _signer(
    services: Services, access_key: str, token: str | None, now: float
) -> tuple[AccessKey, Principal, IamIdentity | None]:
    """The credential cache's answer, in the query API's words."""
    try:
        return await services.credentials.signer(access_key, token=token, now=now)
    except S3Error as err:
        if err.code is S3ErrorCode.EXPIRED_TOKEN:
            raise IamError(IamErrorCode.EXPIRED_TOKEN) from err
        raise IamError(IamErrorCode.INVALID_CLIENT_TOKEN_ID) from err


async def _serve(
    request: web.Request,
    services: Services,
    api: Api,
    raw_path: str,
    pairs: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[str, Result]:
    digest = hashlib.sha256(body).hexdigest()
    # The query APIs sign the body's hash without sending it (unlike S3): supply it.
    signed = SignedRequest(
        request.method, raw_path, tuple(pairs), {"x-amz-content-sha256": digest, **headers}
    )
    now = services.clock()
    parsed = parse_auth(signed, services=QUERY_SERVICES)
    if parsed is None and api is STS_API:
        params = Params.of(pairs, decode_form(body) if body else [])
        unsigned = params.required("Action")
        # No caller: the operation authenticates its token itself (account left empty).
        call = Call(services.meta, Caller(""), params, now, services)
        return unsigned, await STS_API.operations[unsigned].run(call)
    if parsed is None:
        raise IamError(IamErrorCode.ACCESS_DENIED, "Anonymous access to IAM is not allowed.")
    token = session_token(headers, dict(pairs))
    key, _, identity = await _signer(services, parsed.access_key, token, now)
    auth = verify_auth(parsed, signed, key.secret_key, now=now)
    covered = auth.payload_sha256 == digest or (
        not body and auth.payload_mode is PayloadMode.UNSIGNED
    )
    if not covered:
        raise IamError(
            IamErrorCode.INCOMPLETE_SIGNATURE, "The request body is not covered by the signature."
        )

    form: list[tuple[str, str]] = []
    if body:
        if not headers.get("content-type", "").lower().startswith(FORM_CONTENT_TYPE):
            raise IamError(
                IamErrorCode.INVALID_INPUT, f"The request body must be {FORM_CONTENT_TYPE}."
            )
        form = decode_form(body)
    params = Params.of(pairs, form)
    action = params.get("Action")
    if not action:
        raise IamError(IamErrorCode.MISSING_ACTION, "Missing Action")
    operation = api.operations.get(action)
    version = params.get("Version") or api.version
    if operation is None or version != api.version:
        raise IamError(
            IamErrorCode.INVALID_ACTION,
            f"Could not find operation {action} for version {version}",
        )

    caller = Caller(key.user, identity, key.is_root, key.access_key)
    call = Call(services.meta, caller, params, now, services)
    if operation.resource is not None:
        authorize(caller, action, await operation.resource(call))
    result = await operation.run(call)
    if not action.startswith(("Get", "List")):
        # Keys, policies and memberships changed: this process sees it at once (others
        # within the credential cache's TTL).
        services.credentials.invalidate()
    return action, result
