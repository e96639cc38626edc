"""Give every request an id before anything else runs (errors and logs carry it).

The id is also set in a context variable for the request's task, so that every log line
written while the request runs carries it (gateway/logs.py), whichever module logs.
"""

from __future__ import annotations

from contextvars import ContextVar

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.responses import new_request_id

REQUEST_ID = web.RequestKey("request_id", str)
_CURRENT: ContextVar[str | None] = ContextVar("kloudvault_request_id", default=None)


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request[REQUEST_ID] = new_request_id()
    token = _CURRENT.set(request_id)
    try:
        return await handler(request)
    finally:
        _CURRENT.reset(token)


def request_id_of(request: web.Request) -> str:
    return request.get(REQUEST_ID) or new_request_id()


def current_request_id() -> str | None:
    """The id of the request this code runs for, None outside of a request."""
    return _CURRENT.get()
