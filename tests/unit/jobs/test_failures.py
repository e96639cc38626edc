"""gateway.jobs.failures: an outage is one warning line with its cause; a bug keeps its
traceback."""

from __future__ import annotations

import logging

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.jobs.failures import log_failed_round


def _raised(exc: Exception, cause: BaseException | None = None) -> Exception:
    try:
        raise exc from cause
    except Exception as caught:
        return caught


@pytest.mark.parametrize("code", [S3ErrorCode.SERVICE_UNAVAILABLE, S3ErrorCode.SLOW_DOWN])
def test_outage_is_one_line_with_its_cause(
    code: S3ErrorCode, caplog: pytest.LogCaptureFixture
) -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    with caplog.at_level(logging.WARNING):
        log_failed_round(logging.getLogger("t"), _raised(S3Error(code), refused), "%s: run", "job")
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage() == (
        f"job: run: {code.code} (ConnectionRefusedError: [Errno 111] Connection refused)"
    )


def test_other_failures_keep_their_traceback(caplog: pytest.LogCaptureFixture) -> None:
    for exc in (_raised(ValueError("bug")), _raised(S3Error(S3ErrorCode.INTERNAL_ERROR))):
        caplog.clear()
        log_failed_round(logging.getLogger("t"), exc, "collector: run failed")
        (record,) = caplog.records
        assert record.levelno == logging.ERROR and record.exc_info is not None
        assert "Traceback" in caplog.text
