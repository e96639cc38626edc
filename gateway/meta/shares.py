"""Share links: the MetaStore's share link methods as transaction bodies.

A download is counted by one conditional UPDATE: the row lock it takes (PostgreSQL
re-evaluates the WHERE clause on the row a concurrent claim committed; SQLite's writes are
serial) makes `downloads < max_downloads` hold for every claim that gets a row back.
"""

from __future__ import annotations

from typing import Any

from gateway.meta.base import ShareLink
from gateway.meta.sql import Tx, UniqueViolation, execute, one, rows

_COLUMNS = (
    "link_id, token_hash, account, iam_user, bucket, key, version_id, created, expires,"
    " max_downloads, downloads, revoked"
)


def share_link_from_row(row: Any) -> ShareLink:
    return ShareLink(
        link_id=row["link_id"],
        token_hash=row["token_hash"],
        account=row["account"],
        iam_user=row["iam_user"],
        bucket=row["bucket"],
        key=row["key"],
        version_id=row["version_id"],
        created=float(row["created"]),
        expires=float(row["expires"]),
        max_downloads=None if row["max_downloads"] is None else int(row["max_downloads"]),
        downloads=int(row["downloads"]),
        revoked=bool(row["revoked"]),
    )


def create_share_link(link: ShareLink) -> Tx[None]:
    try:
        yield from execute(
            f"INSERT INTO share_links ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            link.link_id,
            link.token_hash,
            link.account,
            link.iam_user,
            link.bucket,
            link.key,
            link.version_id,
            link.created,
            link.expires,
            link.max_downloads,
            link.downloads,
            link.revoked,
        )
    except UniqueViolation as exc:
        raise KeyError(f"share link {link.link_id!r} exists") from exc


def get_share_link(token_hash: str) -> Tx[ShareLink | None]:
    row = yield from one(f"SELECT {_COLUMNS} FROM share_links WHERE token_hash = ?", token_hash)
    return None if row is None else share_link_from_row(row)


def list_share_links(account: str, iam_user: str | None = None) -> Tx[list[ShareLink]]:
    if iam_user is None:
        found = yield from rows(
            f"SELECT {_COLUMNS} FROM share_links WHERE account = ? ORDER BY created DESC, link_id",
            account,
        )
    else:
        found = yield from rows(
            f"SELECT {_COLUMNS} FROM share_links WHERE account = ? AND iam_user = ?"
            " ORDER BY created DESC, link_id",
            account,
            iam_user,
        )
    return [share_link_from_row(r) for r in found]


def revoke_share_link(
    account: str, link_id: str, iam_user: str | None = None
) -> Tx[ShareLink | None]:
    # `CAST(? AS TEXT) IS NULL`: one statement for "any creator" and "this IAM user".
    row = yield from one(
        "UPDATE share_links SET revoked = TRUE WHERE link_id = ? AND account = ?"
        " AND (CAST(? AS TEXT) IS NULL OR iam_user = ?)"
        f" RETURNING {_COLUMNS}",
        link_id,
        account,
        iam_user,
        iam_user,
    )
    return None if row is None else share_link_from_row(row)


def claim_share_download(token_hash: str, now: float) -> Tx[tuple[ShareLink | None, bool]]:
    row = yield from one(
        "UPDATE share_links SET downloads = downloads + 1"
        " WHERE token_hash = ? AND NOT revoked AND expires > ?"
        " AND (max_downloads IS NULL OR downloads < max_downloads)"
        f" RETURNING {_COLUMNS}",
        token_hash,
        now,
    )
    if row is not None:
        return share_link_from_row(row), True
    return (yield from get_share_link(token_hash)), False
