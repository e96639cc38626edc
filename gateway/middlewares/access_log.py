"""One log line per request (when --access-log is on): who, what, status, bytes, time."""

from __future__ import annotations

import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.middlewares.request_id import request_id_of

log = logging.getLogger("kloudvault.access")


@web.middleware
async def access_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        log.info(
            "%s %s %s %d %.1fms",
            request_id_of(request),
            request.method,
            request.raw_path,
            status,
            (time.perf_counter() - started) * 1000,
        )
