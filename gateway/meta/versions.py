"""ListObjectVersions as one transaction body, for SQLite and PostgreSQL alike.

The walk is gateway.meta.version_listing's; feed() (gateway/meta/ranges.py) answers its
seeks with range queries on the versions_by_seq index (bucket, key, seq), read in (key,
seq descending) order. The store runs the body on one snapshot (PostgreSQL: REPEATABLE
READ READ ONLY), so a page never mixes two states of the bucket.

A range continues after a row (key, seq) the way a page continues after its marker: the
older versions of that key (key = ? AND seq < ?), then the keys after it. Each is a plain
index range, where one mixed-direction comparison would not be.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from gateway.meta.base import VersionsPage
from gateway.meta.ranges import feed
from gateway.meta.rows import VERSION_COLUMNS, require_bucket, version_from_row
from gateway.meta.sql import Tx, rows, value
from gateway.meta.version_listing import VersionSeek, VersionSteps, version_listing_steps

_ROWS = f"SELECT {VERSION_COLUMNS}, seq FROM versions WHERE bucket = ?"


def _read(bucket: str, seek: VersionSeek, after: Any, n: int) -> Tx[list[Any]]:
    """Up to n rows of `seek`'s range, strictly after row `after` (None: from its start)."""
    if after is None:
        key, inclusive, below = seek.key, seek.inclusive, seek.below_seq
    else:
        key, inclusive, below = after["key"], False, after["seq"]
    found: list[Any] = []
    if below is not None:
        found = yield from rows(
            _ROWS + " AND key = ? AND seq < ? ORDER BY seq DESC LIMIT ?", bucket, key, below, n
        )
        if len(found) == n:
            return found
    sql = _ROWS + (" AND key >= ?" if inclusive else " AND key > ?")
    args: list[Any] = [bucket, key]
    if seek.upper is not None:
        sql += " AND key < ?"
        args.append(seek.upper)
    more = yield from rows(sql + " ORDER BY key, seq DESC LIMIT ?", *args, n - len(found))
    return found + more


def list_object_versions(
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    version_id_marker: str = "",
    max_keys: int = 1000,
) -> Tx[VersionsPage]:
    yield from require_bucket(bucket)
    marker_seq = None
    if key_marker and version_id_marker:
        marker_seq = yield from value(
            "SELECT seq FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
            bucket,
            key_marker,
            version_id_marker,
        )
    steps: VersionSteps[Any] = version_listing_steps(
        lambda r: str(r["key"]),
        lambda r: str(r["version_id"]),
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        marker_seq=None if marker_seq is None else int(marker_seq),
        max_keys=max_keys,
    )
    # With a delimiter the walk may leave a range at its first row: start small.
    page = yield from feed(steps, partial(_read, bucket), 2 if delimiter else None)
    versions = [version_from_row(r) for r in page.rows]
    return VersionsPage(versions, page.common_prefixes, page.is_truncated, *page.next_markers)
