"""Count and time every S3 request (gateway/metrics/series.py); serve /metrics on the S3
port to the bearer of --metrics-token.

It sits innermost, around the dispatcher, so it sees the S3Error (or backend error) a
request ends in, before the error middleware renders it: that gives the `code` of the
error counter. The operation is the route table's (gateway/routing.py): the one dispatch
resolved (ROUTED_OPERATION), read when the label is first needed; a request dispatch
answered before resolving it (share links, tus, the console, IAM) is resolved here.

Time to first byte and bytes sent come from the app's on_response_prepare signal
(record_first_byte): it fires as the headers go out, for a response the handler streams
as for one the error middleware renders after this middleware has returned. Bytes sent
are the body the response declared (Content-Length); a chunked response's are counted
when it has finished.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import lru_cache

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import MultiDict, MultiDictProxy

from backends.base import BackendError
from gateway.dispatch import APP_SERVICES, ROUTED_OPERATION, handle, parse_query
from gateway.errors import S3Error
from gateway.metrics.exposition import METRICS_PATH, render, token_matches, unauthorized
from gateway.metrics.series import (
    ERRORS,
    FIRST_BYTE,
    IN_FLIGHT,
    RECEIVED_BYTES,
    REQUEST_DURATION,
    REQUESTS,
    SENT_BYTES,
)
from gateway.middlewares.errors import translate
from gateway.routing import resolve
from gateway.sharing.paths import DOWNLOAD_PREFIX, is_sharing_path

# The operation of a request that names none (an invalid path, an unknown method).
UNRESOLVED = "Unresolved"
# A request whose client went away before it was answered (nginx's convention).
CLIENT_CLOSED = 499


# Each series' children by label values: prometheus-client's labels() takes a lock and
# builds a tuple on every call (~3 µs, four or five times a request); a child found once
# is the same object every time (it resets its own value in a new worker process).
_requests = lru_cache(maxsize=4096)(REQUESTS.labels)
_errors = lru_cache(maxsize=4096)(ERRORS.labels)
_duration = lru_cache(maxsize=1024)(REQUEST_DURATION.labels)
_first_byte = lru_cache(maxsize=1024)(FIRST_BYTE.labels)
_sent_bytes = lru_cache(maxsize=1024)(SENT_BYTES.labels)
_received_bytes = lru_cache(maxsize=1024)(RECEIVED_BYTES.labels)


@dataclass
class RequestMetrics:
    started: float
    domain: str | None
    headers_sent: bool = False
    declared_body: bool = False
    resolved: str | None = None

    def operation(self, request: web.Request) -> str:
        """The request's operation label (see the module docstring)."""
        if self.resolved is None:
            routed = request.get(ROUTED_OPERATION)
            if routed is None or is_sharing_path(
                request.host, request.raw_path.partition("?")[0], self.domain
            ):
                routed = operation_of(request, self.domain)
            self.resolved = routed
        return self.resolved


REQUEST_METRICS = web.RequestKey("request_metrics", RequestMetrics)
# The operation label of the share links' requests (gateway/sharing/paths.py).
SHARE_DOWNLOAD = "ShareLinkDownload"
SHARE_API = "ShareLinkApi"


def operation_of(request: web.Request, domain: str | None) -> str:
    raw_path, _, raw_query = request.raw_path.partition("?")
    if is_sharing_path(request.host, raw_path, domain):  # not S3 operations on a bucket "s"
        return SHARE_DOWNLOAD if raw_path.startswith(DOWNLOAD_PREFIX) else SHARE_API
    query = MultiDictProxy(MultiDict(parse_query(raw_query)))
    names = {name.lower() for name in request.headers}
    try:
        return resolve(request.method, request.host, raw_path, query, names, domain).route.operation
    except S3Error:
        return UNRESOLVED


def is_scrape(request: web.Request, token: str | None) -> bool:
    """A scrape on the S3 port: S3 never authenticates with a bearer token, so such a
    request is no S3 request (without a token configured, /metrics is just a path)."""
    return (
        token is not None
        and request.method == "GET"
        and request.path == METRICS_PATH
        and request.headers.get("Authorization", "").partition(" ")[0].lower() == "bearer"
    )


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.handler is not handle:  # health checks: not S3 requests
        return await handler(request)
    services = request.app[APP_SERVICES]
    token = services.settings.metrics_token
    if is_scrape(request, token):
        assert token is not None
        if not token_matches(token, request.headers["Authorization"]):
            return unauthorized()
        return await render(services)
    state = RequestMetrics(time.perf_counter(), services.settings.domain)
    request[REQUEST_METRICS] = state
    status: int = 500
    code: str | None = "InternalError"
    IN_FLIGHT.inc()
    try:
        response = await handler(request)
        status, code = response.status, None
        if response.prepared and response.content_length is None and not state.declared_body:
            _sent(state, request, response.body_length)  # chunked: counted now that it is over
        return response
    except S3Error as err:
        status, code = err.status, err.code.code
        raise
    except BackendError as exc:
        translated = translate(exc)
        status, code = translated.status, translated.code.code
        raise
    except web.HTTPException as exc:
        status, code = exc.status, None
        raise
    except (asyncio.CancelledError, ConnectionResetError, ConnectionAbortedError):
        status, code = CLIENT_CLOSED, None
        raise
    finally:
        IN_FLIGHT.dec()
        operation = state.operation(request)
        _requests(operation, str(status)).inc()
        if code is not None:
            _errors(operation, code).inc()
        _duration(operation).observe(time.perf_counter() - state.started)
        received = getattr(request.content, "total_bytes", 0)
        if received:
            _received_bytes(operation).inc(received)


async def record_first_byte(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the headers of an S3 request's response are going out."""
    state = request.get(REQUEST_METRICS)
    if state is None or state.headers_sent:
        return
    state.headers_sent = True
    _first_byte(state.operation(request)).observe(time.perf_counter() - state.started)
    if request.method == "HEAD" or response.status in (204, 304):
        state.declared_body = True  # no body, whatever Content-Length says
        return
    declared = response.content_length
    if declared is not None:
        state.declared_body = True
        _sent(state, request, declared)


def _sent(state: RequestMetrics, request: web.Request, size: int) -> None:
    if size:
        _sent_bytes(state.operation(request)).inc(size)
