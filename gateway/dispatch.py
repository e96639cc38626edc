"""The one aiohttp handler: resolve -> authenticate -> authorize -> operate -> respond."""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache, partial
from urllib.parse import unquote

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from auth.authenticate import ParsedAuth, anonymous_result, parse_auth, verify_auth
from auth.credentials import ANONYMOUS, Principal, session_token
from auth.iam.endpoint import serve_query_api
from auth.iam.scope import query_api_service
from auth.policy.keys import source_ip
from auth.request import SignedRequest
from gateway import responses
from gateway.access import CHANGES_ACCESS, Access, RequestFacts
from gateway.admin.api import serve_api as serve_admin_api
from gateway.admin.paths import ADMIN_PATH, is_admin_path
from gateway.audit import AUDIT_CALLER, AUDIT_PRINCIPAL, AUDIT_TARGET, AuditCaller, AuditTarget
from gateway.body import RequestBody
from gateway.console.endpoint import serve_console
from gateway.console.paths import API_PREFIX as CONSOLE_API_PREFIX
from gateway.console.paths import PAGES_PREFIX as CONSOLE_PAGES
from gateway.context import RequestContext, Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.expect import send_continue
from gateway.handlers import HANDLERS
from gateway.limits.rate import RateLimiter
from gateway.limits.uploads import UPLOADS
from gateway.meta.base import Bucket
from gateway.middlewares.request_id import request_id_of
from gateway.routing import Route, resolve
from gateway.s3.expected_owner import EXPECTED_OWNER, check_expected_owner
from gateway.sharing.endpoint import serve_sharing
from gateway.sharing.paths import API_PATH as SHARES_API_PATH
from gateway.sharing.paths import DOWNLOAD_PREFIX
from gateway.tus.endpoint import serve_tus
from gateway.tus.paths import TUS_PREFIX
from gateway.website.endpoint import is_website_host, serve_website

APP_SERVICES = web.AppKey("services", Services)
# The route table's operation, once resolved: the metrics middleware labels the request
# with it instead of resolving the request a second time.
ROUTED_OPERATION = web.RequestKey("routed_operation", str)
# Where tus, share links, the admin API and the console live (each module's own prefixes).
_SPECIAL_PATHS = (
    TUS_PREFIX.rstrip("/"),
    DOWNLOAD_PREFIX,
    SHARES_API_PATH,
    ADMIN_PATH,
    CONSOLE_API_PREFIX,
    CONSOLE_PAGES.rstrip("/"),
)


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Query pairs decoded without turning '+' into a space (S3 clients send %20)."""
    pairs = []
    for part in raw_query.split("&"):
        if part:
            name, _, value = part.partition("=")
            # Most components have no escapes: only those go through _decoded.
            pairs.append(
                (
                    _decoded(name) if "%" in name else name,
                    _decoded(value) if "%" in value else value,
                )
            )
    return pairs


# Escaped query components repeat from request to request: a presigned URL's
# X-Amz-Credential is the same for a client all day, and unquote costs it 2 µs. Only
# short ones are kept, so that a client sending long unique values cannot fill memory.
_unquote_cached = lru_cache(maxsize=1024)(unquote)


def _decoded(component: str) -> str:
    return _unquote_cached(component) if len(component) <= 128 else unquote(component)


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out = {name.lower(): value for name, value in headers.items()}
    if len(out) == len(headers):  # no name repeated (almost every request)
        return out
    out = {}
    for name, value in headers.items():
        low = name.lower()
        out[low] = f"{out[low]},{value}" if low in out else value
    return out


async def handle(request: web.Request) -> web.StreamResponse:
    services = request.app[APP_SERVICES]
    request_id = request_id_of(request)
    # Hosts under --website-domain are the website endpoint's (gateway/website/).
    if is_website_host(request.host, services.settings.website_domain):
        await send_continue(request)
        return await serve_website(request, services)
    raw_path, _, raw_query = request.raw_path.partition("?")
    pairs = parse_query(raw_query)
    query = MultiDictProxy(MultiDict(pairs))
    headers = lower_headers(request.headers)
    # Rate limits (gateway/limits/rate.py): the source address first, before any work.
    limiter = services.limiter
    if limiter is not None and limiter.limits("ip"):
        forwarded = headers.get("x-forwarded-for")
        client = source_ip(request.remote or "", forwarded, services.trusted_proxies)
        await _within_rate(limiter, "ip", client)
    # Paths no bucket can have ("s" is too short, "_" is not allowed; "console" may be, see
    # gateway/console/paths.py): their entries are asked only of a path that may be theirs.
    if raw_path.startswith(_SPECIAL_PATHS):
        # tus resumable uploads (/_kv/tus/...): gateway/tus/paths.py.
        if (tus := await serve_tus(request, services, raw_path, pairs, headers)) is not None:
            return tus
        # Share links (/s/TOKEN, /_kv/shares): gateway/sharing/paths.py.
        if (shared := await serve_sharing(request, services, raw_path, pairs, headers)) is not None:
            return shared
        # The admin API (/_kv/admin/...): gateway/admin/paths.py.
        if is_admin_path(request.host, raw_path, services.settings.domain):
            return await serve_admin_api(request, services, raw_path, pairs, headers)
        # The web console (/console/, /_kv/console/...): gateway/console/paths.py.
        if (
            console := await serve_console(request, services, raw_path, pairs, headers)
        ) is not None:
            return console
    # IAM and STS share the endpoint; their SigV4 scope says so (auth/iam/endpoint.py).
    if (service := query_api_service(request.method, raw_path, pairs, headers)) is not None:
        await send_continue(request)
        return await serve_query_api(request, services, service, raw_path, pairs, headers)
    resolved = resolve(
        request.method,
        request.host,
        raw_path,
        query,
        headers.keys(),
        services.settings.domain,
    )
    route = resolved.route
    request[ROUTED_OPERATION] = route.operation
    request[AUDIT_TARGET] = AuditTarget(
        route.operation, resolved.bucket, resolved.key, query.get("versionId")
    )
    signed = SignedRequest(
        request.method,
        raw_path,
        tuple(pairs),
        headers,
        host_bucket=resolved.bucket if resolved.host_style else None,
    )
    now = services.clock()
    parsed = parse_auth(signed)
    if parsed is not None:
        request[AUDIT_CALLER] = AuditCaller(parsed.access_key, _auth_type(parsed))
    identity = None
    if parsed is None:
        principal, auth = ANONYMOUS, anonymous_result()
    else:
        token = session_token(headers, query)
        key, principal, identity = await services.credentials.signer(
            parsed.access_key, token=token, now=now
        )
        auth = verify_auth(
            parsed,
            signed,
            key.secret_key,
            now=now,
            max_presigned=services.settings.max_presigned_expiry,
        )
        # Counted once the signature holds: a forged request must not drain a key's bucket.
        if limiter is not None and limiter.limits("key"):
            await _within_rate(limiter, "key", parsed.access_key)

    request[AUDIT_PRINCIPAL] = principal
    handler = HANDLERS.get(route.operation)
    bucket_record = await _bucket_for(services, resolved.bucket, route, principal)
    if bucket_record is not None:
        check_expected_owner(headers, bucket_record.owner, header=EXPECTED_OWNER)
    access = Access(
        services.meta,
        services.access_cache,
        principal,
        identity,
        RequestFacts(
            operation=route.operation,
            bucket=resolved.bucket,
            key=resolved.key,
            headers=headers,
            query=dict(pairs),
            peer=request.remote or "",
            secure=request.secure,
            now=now,
            signature_version=_signature_version(parsed),
            auth_type=_auth_type(parsed),
        ),
        services.trusted_proxies,
    )
    await access.check(bucket_record)
    if handler is None:
        raise S3Error(S3ErrorCode.NOT_IMPLEMENTED, f"{route.operation} is not implemented yet")
    # Authenticated, the bucket found and the request authorized: the client may send a
    # body it held back for 100 Continue once the operation starts reading it, so what the
    # operation refuses before that (a missing upload, a size limit) is answered without
    # the body too (gateway/expect.py).
    body = RequestBody(
        request.content if request.body_exists else None,
        auth,
        headers,
        before_read=partial(send_continue, request),
        idle_timeout=services.settings.body_timeout,
    )
    ctx = RequestContext(
        request_id=request_id,
        route=route,
        bucket=resolved.bucket,
        key=resolved.key,
        bucket_record=bucket_record,
        method=request.method,
        query=query,
        headers=request.headers,  # already an immutable view: no copy needed
        principal=principal,
        access=access,
        body=body,
        services=services,
        now=now,
    )
    slots = services.upload_slots
    slot: AbstractContextManager[None] = nullcontext()
    if slots is not None and parsed is not None and route.operation in UPLOADS:
        slot = slots.hold(parsed.access_key)  # --max-uploads-per-key
    try:
        with slot:
            result = await handler(ctx)
    except S3Error as error:
        if principal.anonymous or route.operation in _HIDES_MISSING:
            raise await access.hide_missing(error) from error.__cause__
        raise
    finally:
        if route.operation in CHANGES_ACCESS and resolved.bucket is not None:
            services.access_cache.forget(resolved.bucket)
    return await responses.write(request, result, request_id)


async def _within_rate(limiter: RateLimiter, kind: str, identity: str) -> None:
    """SlowDown (503, with Retry-After) if the request is over the `kind` rate limit."""
    wait = await limiter.retry_after(kind, identity)
    if wait > 0:
        raise S3Error(S3ErrorCode.SLOW_DOWN, headers={"Retry-After": str(math.ceil(wait))})


# Reads whose NoSuchKey becomes AccessDenied for callers who may not list the bucket.
_HIDES_MISSING = frozenset({"GetObject", "HeadObject", "GetObjectAcl", "GetObjectTagging"})


def _signature_version(parsed: ParsedAuth | None) -> str | None:
    if parsed is None:
        return None
    return "AWS4-HMAC-SHA256" if parsed.scheme.startswith("v4") else "AWS"


def _auth_type(parsed: ParsedAuth | None) -> str | None:
    if parsed is None:
        return None
    return "REST-QUERY-STRING" if parsed.scheme.endswith("query") else "REST-HEADER"


async def _bucket_for(
    services: Services, name: str | None, route: Route, principal: Principal
) -> Bucket | None:
    if name is None or not route.looks_up_bucket:
        return None
    bucket = await services.meta.get_bucket(name)
    if bucket is None:
        if principal.anonymous:
            raise S3Error(S3ErrorCode.ACCESS_DENIED)
        raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=name)
    return bucket
