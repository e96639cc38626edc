"""One audit record per S3 request (when --audit-log is on), however it ended.

It runs right inside the request id middleware, so it sees the status the error
middleware rendered (and the S3 error code it stashed), and requests that failed before
or during authentication and authorization. Health probes are not audited.

Bytes in: what the client's body delivered to the gateway (aiohttp counts it as it feeds
the body reader, at no cost); bytes out: the body bytes gateway/responses.py sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from auth.policy.keys import Network, source_ip
from gateway.audit import AUDIT_CALLER, AUDIT_PRINCIPAL, AUDIT_TARGET, AuditRecord
from gateway.audit_writer import AuditWriter
from gateway.logs import iso_utc
from gateway.middlewares.errors import ERROR_CODE
from gateway.middlewares.request_id import request_id_of
from gateway.responses import BYTES_SENT
from gateway.tracing import current_trace_id

# A connection that went away before the response was written: no status reached the
# client (nginx's convention for "client closed request").
CLIENT_GONE = 499


def audit_middleware(
    writer: AuditWriter, trusted_proxies: Sequence[Network], unaudited: Collection[str]
) -> Middleware:
    @web.middleware
    async def audit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in unaudited:
            return await handler(request)
        arrived = time.time()
        started = time.perf_counter()
        status = 500
        version_id = None
        try:
            response = await handler(request)
            status = response.status
            version_id = response.headers.get("x-amz-version-id")
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except (ConnectionError, asyncio.CancelledError):
            status = CLIENT_GONE
            raise
        finally:
            writer.write(
                _record(
                    request,
                    arrived,
                    time.perf_counter() - started,
                    status,
                    version_id,
                    trusted_proxies,
                ).to_json()
            )

    return audit


def _record(
    request: web.Request,
    arrived: float,
    seconds: float,
    status: int,
    version_id: str | None,
    trusted_proxies: Sequence[Network],
) -> AuditRecord:
    target = request.get(AUDIT_TARGET)
    caller = request.get(AUDIT_CALLER)
    principal = request.get(AUDIT_PRINCIPAL)
    forwarded = request.headers.getall("X-Forwarded-For", None)
    return AuditRecord(
        time=iso_utc(arrived),
        request_id=request_id_of(request),
        account=principal.user if principal else None,
        iam_user=principal.iam_user if principal else None,
        access_key_id=caller.access_key_id if caller else None,
        auth_type=caller.auth_type if caller else None,
        source_ip=source_ip(
            request.remote or "", ",".join(forwarded) if forwarded else None, trusted_proxies
        ),
        method=request.method,
        operation=target.operation if target else None,
        bucket=target.bucket if target else None,
        key=target.key if target else None,
        # The version a write created (its response header), else the one asked for.
        version_id=version_id or (target.version_id if target else None),
        status=status,
        error_code=request.get(ERROR_CODE),
        bytes_in=request.content.total_bytes if request.body_exists else 0,
        bytes_out=request.get(BYTES_SENT, 0),
        duration_ms=round(seconds * 1000, 3),
        trace_id=current_trace_id(),
    )
