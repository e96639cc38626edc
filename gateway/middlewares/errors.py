"""Render every failure as an S3 error document; no stack trace ever reaches a client.

S3Error renders as itself; backend failures translate by table (unavailable -> 503,
anything else -> 500); any other exception is logged with its trace and becomes a 500.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote

from aiohttp import web
from aiohttp.typedefs import Handler

from backends.base import BackendError, BackendUnavailable, BlobNotFound
from gateway.errors import S3Error, S3ErrorCode
from gateway.logs import CLIENT_GONE
from gateway.middlewares.request_id import request_id_of
from gateway.responses import error_response

log = logging.getLogger("kloudvault.errors")
# The S3 error code a request ended with (the audit log's error_code).
ERROR_CODE = web.RequestKey("s3_error_code", str)

_BACKEND_ERRORS: tuple[tuple[type[BackendError], S3ErrorCode], ...] = (
    (BackendUnavailable, S3ErrorCode.SERVICE_UNAVAILABLE),
    (BlobNotFound, S3ErrorCode.INTERNAL_ERROR),
    (BackendError, S3ErrorCode.INTERNAL_ERROR),
)


def translate(exc: BackendError) -> S3Error:
    for kind, code in _BACKEND_ERRORS:
        if isinstance(exc, kind):
            return S3Error(code)
    return S3Error(S3ErrorCode.INTERNAL_ERROR)


def render_s3_error(request: web.Request, err: S3Error) -> web.Response:
    request[ERROR_CODE] = err.code.code
    return error_response(
        request,
        code=err.code.code,
        message=err.message,
        status=err.status,
        request_id=request_id_of(request),
        resource=unquote(request.raw_path.split("?", 1)[0]),
        fields=dict(err.fields),
        extra_headers=dict(err.headers),
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except S3Error as err:
        _unless_started(request, err)
        return render_s3_error(request, err)
    except BackendError as exc:
        log.warning("backend failure on %s %s: %s", request.method, request.path, exc)
        _unless_started(request, exc)
        return render_s3_error(request, translate(exc))
    except web.HTTPException:
        raise
    except CLIENT_GONE:
        raise  # the client went away: nobody to answer (gateway.logs says it in one line)
    except Exception as exc:
        log.exception("internal error on %s %s", request.method, request.path)
        _unless_started(request, exc)
        return render_s3_error(request, S3Error(S3ErrorCode.INTERNAL_ERROR))


def _unless_started(request: web.Request, exc: Exception) -> None:
    """Refuse to answer a request whose response is already on the wire (a body that failed
    half-way): an error document would be read as the rest of the body, and the client
    would wait for bytes that never come. Closing the connection is what tells it the body
    is incomplete."""
    if request.writer.output_size:
        if request.transport is not None:
            request.transport.close()
        raise ConnectionResetError("response cut short") from exc
