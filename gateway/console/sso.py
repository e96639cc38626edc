"""Console single sign-on (issue #20): the OpenID Connect authorization code flow with
PKCE, ending in a console session that holds AssumeRoleWithWebIdentity's credentials.

    GET /_kv/console/sso/start     302 to the provider's authorization endpoint (from its
                                   discovery document), setting the flow cookie (sso_flow.py)
    GET /_kv/console/sso/callback  the code redeemed at the token endpoint (with the PKCE
                                   verifier; client_secret_basic when a secret is set), the
                                   ID token verified as STS verifies one (signature by the
                                   provider's JWKS, iss, aud = the console's client id, exp)
                                   plus its nonce, then AssumeRoleWithWebIdentity run for
                                   --console-oidc-role-arn: the role's trust policy decides.
                                   303 to /console/ signed in; the session ends with the
                                   credentials.
    any failure                    303 to /console/?sso_error=<reason> (sso_flow.REASONS),
                                   which the sign-in page says in words

The provider is reached with aiohttp's default TLS verification, as the JWKS is
(auth/sts/oidc_keys.py).
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
from typing import Any
from urllib.parse import quote_plus

import aiohttp
from aiohttp import web

from auth.iam.api import Call
from auth.iam.authorize import Caller
from auth.iam.errors import IamError, IamErrorCode
from auth.iam.form import Params
from auth.iam.render import Element
from auth.sts.oidc_keys import MAX_DOCUMENT_BYTES
from auth.sts.session import MIN_DURATION, account_named_by, role_ref
from auth.sts.webidentity import assume_role_with_web_identity, check_claims, verify_token
from gateway.audit import AUDIT_CALLER, AuditCaller
from gateway.console import sso_flow
from gateway.console.api import AUDIT_TYPE, start_session
from gateway.console.paths import PAGES_PREFIX
from gateway.context import Services
from gateway.errors import S3Error
from gateway.middlewares.request_id import request_id_of
from gateway.responses import common_headers
from gateway.settings import Settings

log = logging.getLogger(__name__)


class SignInFailed(Exception):
    """The sign-in ends on the sign-in page with this reason (sso_flow.REASONS)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        assert reason in sso_flow.REASONS
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def is_sso_path(raw_path: str) -> bool:
    return raw_path in (sso_flow.START_PATH, sso_flow.CALLBACK_PATH)


async def serve_sso(request: web.Request, services: Services, raw_path: str) -> web.Response:
    headers = common_headers(request_id_of(request))
    headers["Cache-Control"] = "no-store"
    headers["Referrer-Policy"] = "no-referrer"  # the callback's URL holds the code
    if request.method not in ("GET", "HEAD"):
        return web.Response(status=405, headers={**headers, "Allow": "GET, HEAD"})
    secure = request.secure
    try:
        if services.settings.console_oidc_issuer is None:
            raise SignInFailed("disabled")
        if raw_path == sso_flow.START_PATH:
            url, flow = await _start(request, services)
            return _redirect(302, url, headers, [sso_flow.cookie_header(flow, secure=secure)])
        session_cookie = await _callback(request, services)
        cleared = sso_flow.cookie_header(None, secure=secure)
        return _redirect(303, PAGES_PREFIX, headers, [cleared, session_cookie])
    except SignInFailed as failed:
        log.info("console single sign-on failed: %s", failed)
        cleared = sso_flow.cookie_header(None, secure=secure)
        where = f"{PAGES_PREFIX}?sso_error={failed.reason}"
        return _redirect(303, where, headers, [cleared])


def _redirect(
    status: int, location: str, headers: dict[str, str], cookies: list[str]
) -> web.Response:
    response = web.Response(status=status, headers={**headers, "Location": location})
    for cookie in cookies:
        response.headers.add("Set-Cookie", cookie)
    return response


def _redirect_uri(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}{sso_flow.CALLBACK_PATH}"


async def _endpoints(services: Services, issuer: str) -> dict[str, Any]:
    try:
        return await services.web_identity.discovery(issuer)
    except IamError as exc:
        raise SignInFailed("unreachable", exc.message) from exc


async def _start(request: web.Request, services: Services) -> tuple[str, sso_flow.Flow]:
    settings = services.settings
    assert settings.console_oidc_issuer and settings.console_oidc_client_id
    discovery = await _endpoints(services, settings.console_oidc_issuer)
    endpoint = discovery.get("authorization_endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        raise SignInFailed("unreachable", "no authorization_endpoint")
    flow = sso_flow.Flow.new(services.clock())
    url = sso_flow.authorization_url(
        endpoint,
        client_id=settings.console_oidc_client_id,
        redirect_uri=_redirect_uri(request),
        flow=flow,
    )
    return url, flow


async def _callback(request: web.Request, services: Services) -> str:
    """The session cookie of the user the provider sent back."""
    settings = services.settings
    issuer, client_id = settings.console_oidc_issuer, settings.console_oidc_client_id
    role_arn = settings.console_oidc_role_arn
    assert issuer and client_id and role_arn
    query = request.rel_url.query
    now = services.clock()
    flow = sso_flow.flow_from_cookie(request.headers.get("Cookie"))
    state = query.get("state", "").encode()
    if flow is None or not flow.is_live(now) or not hmac.compare_digest(state, flow.state.encode()):
        raise SignInFailed("state", "no sign-in in progress, or another one's state")
    if "error" in query:  # RFC 6749 4.1.2.1: the user or the provider refused
        raise SignInFailed("provider", query.get("error", "")[:100])
    code = query.get("code")
    if not code:
        raise SignInFailed("provider", "no code")
    discovery = await _endpoints(services, issuer)
    id_token = await _redeem(discovery, code, flow, _redirect_uri(request), settings)
    try:
        claims = await verify_token(services.web_identity, id_token, issuer)
        check_claims(claims, issuer, (client_id,), now)
    except IamError as exc:
        reason = "unreachable" if exc.code is IamErrorCode.IDP_COMMUNICATION_ERROR else "token"
        raise SignInFailed(reason, exc.message) from exc
    if claims.get("nonce") != flow.nonce:
        raise SignInFailed("token", "the ID token's nonce is not this sign-in's")
    access_key, session_token = await _assume_role(services, role_arn, id_token, claims, now)
    request[AUDIT_CALLER] = AuditCaller(access_key, AUDIT_TYPE)
    try:
        _, principal, _ = await services.credentials.signer(
            access_key, token=session_token, now=now
        )
    except S3Error as exc:  # the role went between minting and now
        raise SignInFailed("denied", exc.message) from exc
    sts_session = await services.credentials.session(access_key)
    ends = None if sts_session is None else sts_session.expires
    _, _, cookie = await start_session(
        request, services, principal, session_token=session_token, ends=ends
    )
    return cookie


async def _redeem(
    discovery: dict[str, Any],
    code: str,
    flow: sso_flow.Flow,
    redirect_uri: str,
    settings: Settings,
) -> str:
    """The ID token the token endpoint gives for `code` (OpenID Connect Core 3.1.3)."""
    endpoint = discovery.get("token_endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        raise SignInFailed("unreachable", "no token_endpoint")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": flow.code_verifier,
    }
    headers = {"Accept": "application/json"}
    client_id, secret = settings.console_oidc_client_id, settings.console_oidc_client_secret
    assert client_id is not None
    if secret is None:
        form["client_id"] = client_id  # a public client: PKCE alone binds the code
    else:
        # client_secret_basic (RFC 6749 2.3.1): both parts form-encoded first.
        pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    timeout = aiohttp.ClientTimeout(total=10)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(
                endpoint, data=form, headers=headers, allow_redirects=False
            ) as response:
                body = await response.content.read(MAX_DOCUMENT_BYTES + 1)
                status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SignInFailed("unreachable", str(exc) or type(exc).__name__) from exc
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if status != 200 or not isinstance(answer, dict):
        error = answer.get("error") if isinstance(answer, dict) else None
        raise SignInFailed("provider", f"token endpoint: HTTP {status} {error or ''}")
    id_token = answer.get("id_token")
    if not isinstance(id_token, str):
        raise SignInFailed("provider", "the token endpoint gave no ID token")
    return id_token


async def _assume_role(
    services: Services, role_arn: str, id_token: str, claims: dict[str, Any], now: float
) -> tuple[str, str]:
    """AssumeRoleWithWebIdentity, as STS runs it: (access key, session token)."""
    values = {
        "Action": "AssumeRoleWithWebIdentity",
        "RoleArn": role_arn,
        "RoleSessionName": sso_flow.session_name(claims),
        "WebIdentityToken": id_token,
    }
    seconds = await _duration(services, role_arn)
    if seconds is not None:
        values["DurationSeconds"] = str(seconds)
    params = Params(values)
    # No caller: the token is the credential (as auth/iam/endpoint.py calls it unsigned).
    call = Call(services.meta, Caller(""), params, now, services)
    try:
        result = await assume_role_with_web_identity(call)
    except IamError as exc:
        if exc.code is IamErrorCode.IDP_COMMUNICATION_ERROR:
            raise SignInFailed("unreachable", exc.message) from exc
        raise SignInFailed("denied", f"{exc.code.code}: {exc.message}") from exc
    credentials = dict(_children(result or [], "Credentials"))
    return str(credentials["AccessKeyId"]), str(credentials["SessionToken"])


async def _duration(services: Services, role_arn: str) -> int | None:
    """As long as a console session may last, within the role's MaxSessionDuration (and
    STS's 900-second minimum); None when the role is missing (STS then refuses it)."""
    try:
        ref = role_ref(Params({"RoleArn": role_arn}))
    except IamError:
        return None
    account = await account_named_by(services.meta, ref.account_id)
    role = None if account is None else await services.meta.get_iam_role(account, ref.name)
    if role is None:
        return None
    lifetime = services.settings.console_session_lifetime
    return max(MIN_DURATION, min(lifetime, role.max_session_duration))


def _children(result: Any, name: str) -> list[Element]:
    for element_name, value in result:
        if element_name == name:
            return list(value)
    raise KeyError(name)
