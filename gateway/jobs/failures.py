"""How a background job's failed round is logged (collector, leader work, event dispatch).

A round fails for two kinds of reasons. An outage of the metadata store or the backend
(S3Error ServiceUnavailable or SlowDown: PostgreSQL restarting, a remote backend down) is
expected, transient, and retried next round: one warning line, with its cause, and no
traceback (a two-second PostgreSQL restart would otherwise print dozens of them).
Anything else is a bug: its traceback.
"""

from __future__ import annotations

import logging

from gateway.errors import S3Error, S3ErrorCode

TRANSIENT = frozenset({S3ErrorCode.SERVICE_UNAVAILABLE, S3ErrorCode.SLOW_DOWN})


def log_failed_round(log: logging.Logger, exc: Exception, message: str, *args: object) -> None:
    """Log `message % args` for `exc`, caught by a job's loop (see the module docstring)."""
    if isinstance(exc, S3Error) and exc.code in TRANSIENT:
        cause = exc.__cause__
        why = f"{type(cause).__name__}: {cause}" if cause is not None else exc.message
        log.warning(f"{message}: %s (%s)", *args, exc.code.code, " ".join(why.split()))
        return
    log.error(message, *args, exc_info=exc)
