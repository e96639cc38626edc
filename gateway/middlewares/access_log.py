"""One log line per request (when --access-log is on): what, status, time.

The request id comes with the line (gateway/logs.py adds it). The target is logged with
its signing parameters redacted: a presigned URL in a log would be usable by its reader.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.logs import redact_target

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
            "%s %s %d %.1fms",
            request.method,
            redact_target(request.raw_path),
            status,
            (time.perf_counter() - started) * 1000,
        )
