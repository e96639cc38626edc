"""The audit record (`--audit-log`): one JSON object per request, who did what and how it
ended, denied and anonymous requests included.

Dispatch stashes what only it knows on the request as soon as it knows it: the operation
and its target once the route is resolved (AUDIT_TARGET), the access key the request
claims (AUDIT_CALLER), the caller once the signature is verified (AUDIT_PRINCIPAL).
gateway/middlewares/audit.py adds how the request ended and hands the record to the
writer (gateway/audit_writer.py).

A record never holds a secret: no query string, no header, no signature; the access key
id is an identifier, not a credential (AWS CloudTrail logs it the same way).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from aiohttp import web

from auth.credentials import Principal
from gateway.values import quick_init


@quick_init
@dataclass(frozen=True)
class AuditTarget:
    """What the request asked for, as dispatch resolved it."""

    operation: str
    bucket: str | None
    key: str | None
    version_id: str | None


@dataclass(frozen=True)
class AuditCaller:
    """Who the request says it comes from, before the signature is checked."""

    access_key_id: str  # verified or not: a refused key is worth recording too
    auth_type: str | None  # REST-HEADER, or REST-QUERY-STRING for presigned URLs


AUDIT_TARGET = web.RequestKey("audit_target", AuditTarget)
AUDIT_CALLER = web.RequestKey("audit_caller", AuditCaller)
# Set once the signature is verified (ANONYMOUS for unsigned requests).
AUDIT_PRINCIPAL = web.RequestKey("audit_principal", Principal)


@dataclass(frozen=True)
class AuditRecord:
    time: str  # ISO 8601, UTC, when the request arrived
    request_id: str
    account: str | None
    iam_user: str | None
    access_key_id: str | None
    auth_type: str | None
    source_ip: str
    method: str
    operation: str | None
    bucket: str | None
    key: str | None
    version_id: str | None
    status: int
    error_code: str | None
    bytes_in: int
    bytes_out: int
    duration_ms: float
    trace_id: str | None = None  # with --otlp-endpoint: the request's trace

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))
