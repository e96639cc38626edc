"""Web console sessions: the MetaStore's console session methods as transaction bodies."""

from __future__ import annotations

from typing import Any

from gateway.meta.base import ConsoleSession
from gateway.meta.sql import Tx, UniqueViolation, execute, one

_COLUMNS = (
    "token_hash, access_key, sts_access_key, session_token, account, iam_user, created,"
    " last_seen, expires"
)


def _session_from_row(row: Any) -> ConsoleSession:
    return ConsoleSession(
        token_hash=row["token_hash"],
        access_key=row["access_key"] or row["sts_access_key"],
        session_token=row["session_token"],
        account=row["account"],
        iam_user=row["iam_user"],
        created=float(row["created"]),
        last_seen=float(row["last_seen"]),
        expires=float(row["expires"]),
    )


def create_console_session(session: ConsoleSession, now: float) -> Tx[None]:
    # Sessions past their absolute expiry go here (idle ones are refused when presented and
    # go at their expiry): no background job, and the table stays as small as its users.
    yield from execute("DELETE FROM console_sessions WHERE expires <= ?", now)
    temporary = session.session_token is not None
    try:
        yield from execute(
            f"INSERT INTO console_sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            session.token_hash,
            # A session token says which kind of key it is (migration 0016).
            None if temporary else session.access_key,
            session.access_key if temporary else None,
            session.session_token,
            session.account,
            session.iam_user,
            session.created,
            session.last_seen,
            session.expires,
        )
    except UniqueViolation as exc:
        raise KeyError("console session exists") from exc


def get_console_session(token_hash: str) -> Tx[ConsoleSession | None]:
    row = yield from one(
        f"SELECT {_COLUMNS} FROM console_sessions WHERE token_hash = ?", token_hash
    )
    return None if row is None else _session_from_row(row)


def touch_console_session(token_hash: str, now: float) -> Tx[None]:
    yield from execute(
        "UPDATE console_sessions SET last_seen = ? WHERE token_hash = ? AND last_seen < ?",
        now,
        token_hash,
        now,
    )


def delete_console_session(token_hash: str) -> Tx[bool]:
    count = yield from execute("DELETE FROM console_sessions WHERE token_hash = ?", token_hash)
    return count > 0
