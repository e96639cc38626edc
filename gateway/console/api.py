"""The console's JSON API under /_kv/console (paths.py), for the pages in static/.

    POST   /session          {"accessKey", "secretKey"} -> 201 who, with "csrfToken";
                             sets the session cookie (the secret is checked, never kept)
    GET    /sso              -> 200 {"enabled"}: whether single sign-on is set up (the
                             sign-in flow itself is sso.py's, under /sso/)
    GET    /session          -> 200 who (a reload recovers its CSRF token); 401 without one
    DELETE /session          sign out: the session is deleted, the cookie cleared
    POST   /presign          {"operation", "bucket"?, "key"?, "params"?, "headers"?} -> 200
                             {"method", "url", "headers"}: one S3 request presigned for the
                             session's key (presign.py), for the browser to send to the S3
                             endpoint with those headers
    POST   /iam              {"action", "params"?} -> 200 {"method", "url", "headers",
                             "body"}: one IAM query API call signed for the session's key
                             (iam_signing.py), for the browser to post to the endpoint
    GET    /shares, POST /shares, DELETE /shares/<id>
                             the share link API (gateway/sharing/api.py) as the session's key
    GET    /targets          -> 200 {"targets": [name...], "region", "accountId"}: the event
                             notification targets configured (names, never their URLs),
                             for a bucket's notification settings to name by ARN
    *      /admin/...        the admin API (gateway/admin/api.py) as the session's key:
                             refused unless that key is the administrator's

Every call but signing in needs the session cookie; every call but GET needs the CSRF
token in X-KV-CSRF as well (403 without). A request whose Origin is another site is
refused. Errors are {"error": {"code", "message"}, "requestId"} with the S3 status;
401 ConsoleSignInRequired once the session has ended, however it ended.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from auth.authenticate import anonymous_result
from auth.credentials import Principal
from gateway.admin.api import answer_as as admin_answer
from gateway.admin.api import is_admin
from gateway.audit import AUDIT_CALLER, AUDIT_PRINCIPAL, AuditCaller
from gateway.body import RequestBody
from gateway.console import sessions
from gateway.console.iam_signing import signed_iam_call
from gateway.console.paths import API_PREFIX
from gateway.console.presign import ConsoleRequest, presigned_url
from gateway.context import Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.json_api import MAX_BODY, dumps, error_json
from gateway.meta.base import AccessKey, ConsoleSession, IamIdentity
from gateway.middlewares.request_id import request_id_of
from gateway.responses import common_headers
from gateway.sharing.api import answer_as

AUDIT_TYPE = "CONSOLE-SESSION"  # the audit log's auth type of a console API call


@dataclass(frozen=True)
class SignedIn:
    """A live session and who it acts as, as of this request."""

    token: str
    session: ConsoleSession
    key: AccessKey
    principal: Principal
    identity: IamIdentity | None
    session_token: str | None = None  # the STS session's, opened (signed in by SSO)


async def serve_api(request: web.Request, services: Services, raw_path: str) -> web.Response:
    request_id = request_id_of(request)
    headers = common_headers(request_id)
    headers["Cache-Control"] = "no-store"
    try:
        status, payload = await _serve(request, services, raw_path[len(API_PREFIX) :], headers)
    except S3Error as error:
        status, payload = error_json(error, request_id)
        if error.code is S3ErrorCode.CONSOLE_SIGN_IN_REQUIRED:
            headers["Set-Cookie"] = sessions.clear_cookie_header(secure=request.secure)
    return web.json_response(payload, status=status, headers=headers, dumps=dumps)


async def _serve(
    request: web.Request, services: Services, rest: str, out: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    _check_origin(request)
    method = request.method
    if rest == "/session":
        if method == "POST":
            return 201, await _sign_in(request, services, out)
        signed = await current(request, services)
        if method == "GET":
            return 200, _who(services, signed)
        if method == "DELETE":
            _check_csrf(request, signed)
            await services.meta.delete_console_session(signed.session.token_hash)
            out["Set-Cookie"] = sessions.clear_cookie_header(secure=request.secure)
            return 200, {"signedOut": True}
        raise _not_allowed(method, "session")
    if rest == "/sso":  # whether the sign-in page offers single sign-on (sso.py)
        if method != "GET":
            raise _not_allowed(method, "sso")
        return 200, {"enabled": services.settings.console_oidc_issuer is not None}
    signed = await current(request, services)
    if method not in ("GET", "HEAD"):
        _check_csrf(request, signed)
    if rest == "/presign":
        if method != "POST":
            raise _not_allowed(method, "presign")
        return 200, await _presign(request, services, signed)
    if rest == "/iam":
        if method != "POST":
            raise _not_allowed(method, "iam")
        return 200, await _sign_iam(request, services, signed)
    if rest == "/targets":
        if method != "GET":
            raise _not_allowed(method, "targets")
        return 200, {
            "targets": sorted(await services.targets.names()),
            "region": services.settings.region,
            "accountId": signed.principal.account_id,
        }
    if rest == "/admin" or rest.startswith("/admin/"):
        data = await _json_body(request) if request.body_exists else {}
        return await admin_answer(services, signed.principal, method, rest[len("/admin") :], data)
    if rest == "/shares" or rest.startswith("/shares/"):
        # No payload signature to check: the cookie and the CSRF token authenticated it.
        lower = {k.lower(): v for k, v in request.headers.items()}
        body = RequestBody(
            request.content if request.body_exists else None, anonymous_result(), lower
        )
        return await answer_as(
            request,
            services,
            signed.principal,
            signed.identity,
            body,
            lower,
            rest[len("/shares") :],
        )
    raise S3Error(S3ErrorCode.NOT_IMPLEMENTED, f"No console API at {API_PREFIX}{rest}")


def _not_allowed(method: str, resource: str) -> S3Error:
    return S3Error(S3ErrorCode.METHOD_NOT_ALLOWED, Method=method, ResourceType=resource)


def _check_origin(request: web.Request) -> None:
    """Refuse calls from pages of another site (defence in depth: the cookie is
    SameSite=Strict and state changes need the CSRF token)."""
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise S3Error(S3ErrorCode.ACCESS_DENIED, "The console API answers its own pages only.")


def _check_csrf(request: web.Request, signed: SignedIn) -> None:
    if not sessions.csrf_matches(signed.token, request.headers.get(sessions.CSRF_HEADER)):
        raise S3Error(
            S3ErrorCode.ACCESS_DENIED,
            "The CSRF token is missing or wrong: reload the console and try again.",
        )


async def _json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "The request body must be application/json")
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, f"The request body exceeds {MAX_BODY} bytes")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, f"The request body exceeds {MAX_BODY} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "The request body is not JSON") from exc
    if not isinstance(data, dict):
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "The request body is not a JSON object")
    return data


def _timeouts(services: Services) -> sessions.Timeouts:
    s = services.settings
    return sessions.Timeouts(float(s.console_idle_timeout), float(s.console_session_lifetime))


async def _sign_in(request: web.Request, services: Services, out: dict[str, str]) -> dict[str, Any]:
    data = await _json_body(request)
    access_key, secret_key = data.get("accessKey"), data.get("secretKey")
    if not isinstance(access_key, str) or not isinstance(secret_key, str):
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "Give an access key and a secret key")
    access_key = access_key.strip()
    request[AUDIT_CALLER] = AuditCaller(access_key, AUDIT_TYPE)
    wrong = S3Error(S3ErrorCode.ACCESS_DENIED, "The access key or the secret key is wrong.")
    try:
        key, principal, _identity = await services.credentials.signer(access_key)
    except S3Error:
        raise wrong from None
    if not hmac.compare_digest(key.secret_key.encode(), secret_key.encode()):
        raise wrong
    token, session, out["Set-Cookie"] = await start_session(request, services, principal)
    return _who(services, SignedIn(token, session, key, principal, _identity))


async def start_session(
    request: web.Request,
    services: Services,
    principal: Principal,
    *,
    session_token: str | None = None,
    ends: float | None = None,
) -> tuple[str, ConsoleSession, str]:
    """Store a new session acting as `principal`'s key (an STS session's with its
    `session_token`, ending by `ends` at the latest): its token, itself, its Set-Cookie."""
    assert principal.user is not None and principal.access_key is not None
    now = services.clock()
    timeouts = _timeouts(services)
    expires = now + timeouts.lifetime if ends is None else min(ends, now + timeouts.lifetime)
    token = sessions.new_token()
    sealed = (
        None
        if session_token is None
        else services.credentials.sealer.seal(principal.access_key, session_token)
    )
    session = ConsoleSession(
        token_hash=sessions.token_hash(token),
        access_key=principal.access_key,
        account=principal.user,
        iam_user=principal.iam_user,
        created=now,
        last_seen=now,
        expires=expires,
        session_token=sealed,
    )
    await services.meta.create_console_session(session, now)
    request[AUDIT_PRINCIPAL] = principal
    cookie = sessions.set_cookie_header(
        token, secure=request.secure, max_age=max(1, int(expires - now))
    )
    return token, session, cookie


def _who(services: Services, signed: SignedIn) -> dict[str, Any]:
    identity = signed.identity
    return {
        "accessKey": signed.key.access_key,
        "account": signed.principal.user,
        "iamUser": signed.principal.iam_user,
        # Signed in by SSO: the assumed role and the role session's name.
        "role": identity.name if identity is not None and identity.is_role else None,
        "roleSession": identity.session_name if identity is not None else None,
        "csrfToken": sessions.csrf_token(signed.token),
        "endsAt": sessions.ends_at(signed.session, _timeouts(services)),
        "expires": signed.session.expires,
        "region": services.settings.region,
        # Which pages the console offers (the servers refuse the rest whatever it shows):
        # IAM for an account's own key, accounts and usage for the administrator.
        "accountOwner": signed.principal.iam_user is None and identity is None,
        "admin": is_admin(signed.principal),
    }


async def current(request: web.Request, services: Services) -> SignedIn:
    """The request's live session, or 401 ConsoleSignInRequired. Refreshes last_seen."""
    ended = S3Error(S3ErrorCode.CONSOLE_SIGN_IN_REQUIRED)
    token = sessions.cookie_token(request.headers.get("Cookie"))
    if token is None:
        raise ended
    meta = services.meta
    session = await meta.get_console_session(sessions.token_hash(token))
    if session is None:
        raise ended
    request[AUDIT_CALLER] = AuditCaller(session.access_key, AUDIT_TYPE)
    now = services.clock()
    if not sessions.is_live(session, _timeouts(services), now):
        await meta.delete_console_session(session.token_hash)
        raise ended
    token_sealed = session.session_token
    sealer = services.credentials.sealer
    opened = None if token_sealed is None else sealer.open(session.access_key, token_sealed)
    try:
        key, principal, identity = await services.credentials.signer(
            session.access_key, token=opened, now=now
        )
    except S3Error:  # the key was deleted or deactivated since sign-in (or its STS
        # session expired or was revoked)
        await meta.delete_console_session(session.token_hash)
        raise ended from None
    request[AUDIT_PRINCIPAL] = principal
    timeouts = _timeouts(services)
    if now - session.last_seen >= min(sessions.TOUCH_INTERVAL, timeouts.idle / 10):
        await meta.touch_console_session(session.token_hash, now)
    return SignedIn(token, session, key, principal, identity, opened)


async def _presign(request: web.Request, services: Services, signed: SignedIn) -> dict[str, Any]:
    data = await _json_body(request)
    operation, bucket, key = data.get("operation"), data.get("bucket"), data.get("key")
    params = data.get("params") or {}
    if not isinstance(operation, str):
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "'operation' must be an S3 operation name")
    if bucket is not None and not isinstance(bucket, str):
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "'bucket' must be a bucket name")
    if key is not None and not isinstance(key, str):
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "'key' must be an object key")
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, (str, int)) and not isinstance(v, bool)
        for k, v in params.items()
    ):
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "'params' must map names to strings")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "'headers' must map names to strings")
    fields = {k: str(v) for k, v in params.items()}
    presigned = presigned_url(
        ConsoleRequest(operation, bucket or None, key or None, fields, headers),
        host=request.host,
        access_key=signed.key.access_key,
        secret_key=signed.key.secret_key,
        region=services.settings.region,
        now=services.clock(),
        max_expiry=services.settings.max_presigned_expiry,
        session_token=signed.session_token,
    )
    return {"method": presigned.method, "url": presigned.url, "headers": dict(presigned.headers)}


async def _sign_iam(request: web.Request, services: Services, signed: SignedIn) -> dict[str, Any]:
    data = await _json_body(request)
    action, params = data.get("action"), data.get("params") or {}
    if not isinstance(action, str):
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "'action' must be an IAM action name")
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in params.items()
    ):
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "'params' must map names to strings")
    call = signed_iam_call(
        action,
        params,
        host=request.host,
        access_key=signed.key.access_key,
        secret_key=signed.key.secret_key,
        region=services.settings.region,
        now=services.clock(),
        session_token=signed.session_token,
    )
    return {
        "method": call.method,
        "url": call.url,
        "headers": dict(call.headers),
        "body": call.body,
    }
