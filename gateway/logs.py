"""How the gateway's log lines look: `--log-format text` or `json`, for every logger.

One handler on the root logger (stderr) formats every record, ours and the libraries'.
Lines written while a request runs carry its id (gateway/middlewares/request_id.py sets
it in a context variable, which the request's task and the tasks it starts inherit).
Query strings that reach a log go through `redact_target` first: a logged presigned URL
must not be usable.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from aiohttp.http_exceptions import HttpProcessingError
from asyncpg.exceptions import OperatorInterventionError, PostgresConnectionError

from gateway.middlewares.request_id import current_request_id
from gateway.tracing import current_trace_id

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(name)s %(message)s"

# Query parameters that sign a request (SigV2 and SigV4 presigned URLs) or carry session
# credentials; compared case-insensitively after percent-decoding, as dispatch decodes
# names, so an encoded name cannot slip through.
SECRET_QUERY_PARAMS = frozenset(
    name.lower()
    for name in ("Signature", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token")
)
REDACTED = "REDACTED"
# A share link download (gateway/sharing/paths.py DOWNLOAD_PREFIX): the path is a bearer token.
SHARE_LINK_PREFIX = "/s/"


def redact_target(target: str) -> str:
    """A request target (path?query) with the values of SECRET_QUERY_PARAMS replaced, and
    a share link's token (/s/TOKEN, gateway/sharing/paths.py): either would work again."""
    path, sep, query = target.partition("?")
    if path.startswith(SHARE_LINK_PREFIX):
        path = SHARE_LINK_PREFIX + REDACTED
        target = path + sep + query
    if not sep:
        return target
    parts = []
    for part in query.split("&"):
        name, eq, _ = part.partition("=")
        if unquote(name).lower() in SECRET_QUERY_PARAMS:
            part = f"{name}={REDACTED}"
        parts.append(part)
    return f"{path}?{'&'.join(parts)}"


def iso_utc(timestamp: float) -> str:
    """ISO 8601 in UTC with milliseconds: 2025-01-31T12:00:00.123Z."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (in a request),
    trace_id (in a traced request, --otlp-endpoint), exception and stack (when the record
    has them)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": iso_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            line["request_id"] = request_id
        trace_id = current_trace_id()
        if trace_id is not None:
            line["trace_id"] = trace_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, with the request id after the logger name inside a request."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        request_id = current_request_id()
        if request_id is None:
            return super().formatMessage(record)
        return f"{self.formatTime(record)} {record.name} [{request_id}] {record.message}"


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return TextFormatter()
    raise ValueError(f"unknown log format {log_format!r} ({', '.join(LOG_FORMATS)})")


def configure_logging(level: str, log_format: str) -> None:
    """Every logger writes through one stderr handler with the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    pool = logging.getLogger("asyncpg.pool")
    if not any(isinstance(f, OutageLines) for f in pool.filters):
        pool.addFilter(OutageLines())


# What a database outage raises in asyncpg's pool: expected while PostgreSQL restarts
# (refused, reset, "the database system is starting up", "shutting down").
_OUTAGE_ERRORS = (OSError, TimeoutError, PostgresConnectionError, OperatorInterventionError)


class OutageLines(logging.Filter):
    """asyncpg's pool logs a traceback each time it fails to reconnect (every second or so
    while PostgreSQL is down): one line each instead, saying why. Other errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and isinstance(exc, _OUTAGE_ERRORS):
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {exc}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True


class ProtocolLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's per-connection logger: a request it cannot parse (a client's error, often
    a scanner's) is one warning line, and a client that went away mid-response one info
    line, not a traceback; anything else keeps its traceback."""

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        exc = kwargs.pop("exc_info", None)
        if isinstance(exc, HttpProcessingError):
            self.warning(f"{msg}: %s", *args, _one_line(exc), **kwargs)
            return
        if isinstance(exc, CLIENT_GONE):
            # A download cut short by its client (a closed tab, a killed wrk) is routine:
            # formatting a traceback for each cost more CPU than sending the bytes.
            self.info(f"{msg}: client gone (%s)", *args, type(exc).__name__, **kwargs)
            return
        self.error(msg, *args, exc_info=exc if exc is not None else True, **kwargs)


# What a socket says when the client closed it while we were writing.
CLIENT_GONE = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


# aiohttp quotes what it could not parse: after a request answered before its body was
# read, that is the body itself (object bytes, possibly someone's data), tens of KB a line.
ONE_LINE_MAX = 160


def _one_line(exc: HttpProcessingError) -> str:
    line = " ".join(f"{exc.code} {exc.message}".split())
    if len(line) > ONE_LINE_MAX:
        return f"{line[:ONE_LINE_MAX]}... ({len(line)} characters)"
    return line


def protocol_logger() -> ProtocolLogger:
    return ProtocolLogger(logging.getLogger("aiohttp.server"), {})
