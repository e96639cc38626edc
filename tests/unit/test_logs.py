"""gateway/logs.py: the JSON and text formats, the request id in each line, redaction."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest
from aiohttp.http_exceptions import BadHttpMethod

from gateway.logs import (
    JsonFormatter,
    OutageLines,
    TextFormatter,
    formatter,
    iso_utc,
    protocol_logger,
    redact_target,
)
from gateway.middlewares import request_id as request_id_module


def make_record(message: str = "hello %s", *args: object, **kwargs: object) -> logging.LogRecord:
    record = logging.LogRecord("kloudvault.test", logging.WARNING, __file__, 1, message, args, None)
    record.created = 1700000000.25
    record.__dict__.update(kwargs)
    return record


@pytest.fixture
def in_request() -> Iterator[str]:
    token = request_id_module._CURRENT.set("0123456789ABCDEF")
    yield "0123456789ABCDEF"
    request_id_module._CURRENT.reset(token)


def test_json_line_outside_a_request() -> None:
    line = JsonFormatter().format(make_record("hello %s", "world"))
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2023-11-14T22:13:20.250Z",
        "level": "WARNING",
        "logger": "kloudvault.test",
        "message": "hello world",
    }


def test_json_line_inside_a_request_carries_its_id(in_request: str) -> None:
    parsed = json.loads(JsonFormatter().format(make_record("x")))
    assert parsed["request_id"] == in_request


def test_json_line_with_an_exception_stays_one_line() -> None:
    try:
        raise ValueError('bad "thing"\nsecond line')
    except ValueError:
        record = make_record("failed")
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "failed"
    assert 'ValueError: bad "thing"\nsecond line' in parsed["exception"]


def test_text_line_names_the_request(in_request: str) -> None:
    assert TextFormatter().format(make_record("x")).endswith(f" kloudvault.test [{in_request}] x")
    assert TextFormatter().format(make_record("y")).count("[") == 1


def test_text_line_outside_a_request() -> None:
    line = TextFormatter().format(make_record("hello %s", "there"))
    assert line.endswith(" kloudvault.test hello there") and "[" not in line


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError):
        formatter("xml")


def test_iso_utc() -> None:
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert iso_utc(1700000000.9999) == "2023-11-14T22:13:20.999Z"


@pytest.mark.parametrize(
    ("target", "redacted"),
    [
        ("/b/k", "/b/k"),
        ("/b/k?versionId=3&partNumber=1", "/b/k?versionId=3&partNumber=1"),
        (
            "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20250101%2Fus-east-1"
            "%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z&X-Amz-Expires=300"
            "&X-Amz-SignedHeaders=host&X-Amz-Signature=abcdef0123",
            "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED"
            "&X-Amz-Date=20250101T000000Z&X-Amz-Expires=300"
            "&X-Amz-SignedHeaders=host&X-Amz-Signature=REDACTED",
        ),
        (
            "/b/k?AWSAccessKeyId=AKID&Expires=1700000000&Signature=a%2Bb%3D",
            "/b/k?AWSAccessKeyId=AKID&Expires=1700000000&Signature=REDACTED",
        ),
        ("/b/k?X-Amz-Security-Token=tok&acl", "/b/k?X-Amz-Security-Token=REDACTED&acl"),
        # Names are matched as dispatch reads them: percent-decoded, any case.
        ("/b/k?X%2DAmz%2DSignature=abc", "/b/k?X%2DAmz%2DSignature=REDACTED"),
        (
            "/b/k?x-amz-signature=abc&signature=def",
            "/b/k?x-amz-signature=REDACTED&signature=REDACTED",
        ),
        # A bare name or an empty value hides nothing, but is still marked.
        ("/b/k?Signature", "/b/k?Signature=REDACTED"),
        ("/b/k?", "/b/k?"),
        # Look-alikes are left alone.
        ("/b/k?MySignature=1&Signatures=2", "/b/k?MySignature=1&Signatures=2"),
        # A share link's path is its token.
        ("/s/AbCdEfGhIjKlMnOpQrStUvWxYz012345", "/s/REDACTED"),
        ("/s/AbCd?x=1", "/s/REDACTED?x=1"),
        ("/sb/k", "/sb/k"),
    ],
)
def test_redact_target(target: str, redacted: str) -> None:
    assert redact_target(target) == redacted


@pytest.mark.parametrize(
    ("exc", "level", "traceback"),
    [
        (BrokenPipeError(32, "Broken pipe"), logging.INFO, False),
        (ConnectionResetError(104, "Connection reset by peer"), logging.INFO, False),
        (RuntimeError("a bug"), logging.ERROR, True),
    ],
)
def test_protocol_logger_exception(
    caplog: pytest.LogCaptureFixture, exc: BaseException, level: int, traceback: bool
) -> None:
    """aiohttp calls logger.exception(..., exc_info=exc) for a handler's failure: a client
    that went away is one line, anything else keeps its traceback (and exc_info is never
    passed twice, which raised KeyError inside aiohttp's error handling)."""
    with caplog.at_level(logging.INFO, logger="aiohttp.server"):
        protocol_logger().exception("Error handling request from %s", "127.0.0.1", exc_info=exc)
    (record,) = caplog.records
    assert record.levelno == level
    assert "127.0.0.1" in record.getMessage()
    assert (record.exc_info is not None) is traceback


def _failed(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord(
        "asyncpg.pool", logging.WARNING, __file__, 1, "Failed to restore %s", ("the floor",), info
    )


def test_outage_lines_drop_the_traceback_of_an_outage_only() -> None:
    """asyncpg's pool logs a traceback per reconnect attempt while PostgreSQL is down."""
    outage = _failed(ConnectionRefusedError(111, "Connection refused"))
    assert OutageLines().filter(outage)
    line = TextFormatter().format(outage)
    assert "Traceback" not in line and "\n" not in line
    assert line.endswith(
        "Failed to restore the floor: ConnectionRefusedError: [Errno 111] Connection refused"
    )
    bug = _failed(ValueError("not an outage"))
    assert OutageLines().filter(bug)
    assert "Traceback" in TextFormatter().format(bug)


def test_protocol_logger_caps_what_aiohttp_could_not_parse(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After a request answered before its body was read, aiohttp parses the body as the
    next request and quotes it in the error: the log line keeps only its start."""
    body = "SECRET-BODY-BYTES " * 4000
    with caplog.at_level(logging.INFO, logger="aiohttp.server"):
        protocol_logger().exception(
            "Error handling request from %s", "127.0.0.1", exc_info=BadHttpMethod(body)
        )
    (record,) = caplog.records
    message = record.getMessage()
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert len(message) < 300 and message.endswith("characters)")
