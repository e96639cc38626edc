"""Give every request an id before anything else runs (errors and logs carry it)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.responses import new_request_id

REQUEST_ID = web.RequestKey("request_id", str)


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[REQUEST_ID] = new_request_id()
    return await handler(request)


def request_id_of(request: web.Request) -> str:
    return request.get(REQUEST_ID) or new_request_id()
