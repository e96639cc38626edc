"""ListObjects over an ordered key index, seeking past common prefixes (DESIGN.md,
"Metadata store": listing must not read every key under a common prefix).

The walk is pure and sans-IO: listing_steps() is a generator that asks for key ranges
(`Seek`) and is sent rows one at a time, and decides what to return. list_objects() is
the ListObjects transaction body: gateway.meta.ranges.feed() answers the walk's seeks with
range queries read in doubling batches, on either database. (With a delimiter, both stores
switch to probes computed inside the database once a key rolls up: gateway/meta/
skip_scan.py, sqlite_listing.py, postgres_listing.py.)
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from gateway.meta.base import ListPage
from gateway.meta.ranges import feed
from gateway.meta.rows import LISTED_COLUMNS, listed_from_row, require_bucket
from gateway.meta.sql import Tx, rows

R = TypeVar("R")


def successor(s: str) -> str | None:
    """The least string greater than every string that starts with `s`; None if none is.

    Python compares str by code point, which is UTF-8 byte order, the order SQLite's BINARY
    collation uses: incrementing the last code point gives the bound. The surrogate range
    cannot be encoded (so is skipped) and U+10FFFF cannot be incremented (so is dropped, and
    the code point before it is incremented instead).
    """
    for i in range(len(s) - 1, -1, -1):
        c = ord(s[i])
        if c < 0x10FFFF:
            c += 1
            if 0xD800 <= c <= 0xDFFF:
                c = 0xE000
            return s[:i] + chr(c)
    return None


def rolled_up(key: str, prefix: str, delimiter: str) -> str | None:
    """The common prefix `key` rolls up into, or None if it is listed as itself."""
    if not delimiter or not key.startswith(prefix):
        return None
    i = key.find(delimiter, len(prefix))
    return None if i < 0 else key[: i + len(delimiter)]


@dataclass
class ListingStats:
    """What one listing cost: queries issued and rows read (tests prove the seek with it)."""

    queries: int = 0
    rows: int = 0


@dataclass
class Listing(Generic[R]):
    rows: list[R]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str | None


class Seek(NamedTuple):
    """A request of the walk: keys from `lower` (inclusive or not) below `upper` (None: no
    bound), in key order, at most `limit` of them. (A NamedTuple: a page of 1,000 common
    prefixes makes 1,000, and a frozen dataclass costs three times as much to build.)"""

    lower: str
    inclusive: bool
    upper: str | None
    limit: int


# What listing_steps() yields: a Seek (start a new range; abandon the current one) or None
# (the next row of the current range, please). What it is sent: the next row of the
# current range, or None when that range has no more rows.
Steps = Generator[Seek | None, R | None, Listing[R]]


def listing_steps(
    key_of: Callable[[R], str],
    *,
    prefix: str,
    delimiter: str,
    start_after: str,
    max_keys: int,
) -> Steps[R]:
    """ListObjects over an ordered key index, seeking past each common prefix.

    Walk keys in order from max(prefix, start_after) up to successor(prefix). A key with the
    delimiter after the prefix yields the common prefix CP = prefix + ... + delimiter, and
    the walk restarts at successor(CP), the least string above every key under CP: one
    index seek per common prefix, whatever the number of keys under it.

    Objects and common prefixes both count against max_keys; one more item is looked for
    to decide is_truncated, so the flag is exact. Everything returned is greater than
    start_after; if start_after lies under a common prefix (e.g. it is the CP returned as
    next_marker by the previous page), that whole prefix is skipped, so pages never repeat.
    """
    rows: list[R] = []
    prefixes: list[str] = []
    if max_keys <= 0:
        return Listing(rows, prefixes, False, None)
    upper = successor(prefix) if prefix else None
    lower: str | None = prefix
    inclusive = True
    if start_after >= prefix:
        lower, inclusive = start_after, False
        cp = rolled_up(start_after, prefix, delimiter)
        if cp is not None:
            lower, inclusive = successor(cp), True
    last: str | None = None
    left = max_keys  # objects and common prefixes still to list
    while lower is not None and (upper is None or lower < upper):
        seek: str | None = None
        row = yield Seek(lower, inclusive, upper, left + 1)
        while row is not None:
            key = key_of(row)
            if not left:
                return Listing(rows, prefixes, True, last)
            left -= 1
            cp = rolled_up(key, prefix, delimiter)
            if cp is None:
                rows.append(row)
                last = key
                row = yield None
                continue
            prefixes.append(cp)
            last = cp
            seek = successor(cp)
            break
        else:
            break  # the range ran dry below its limit: nothing left
        lower, inclusive = seek, True
    return Listing(rows, prefixes, False, last)


# The latest non-delete-marker versions of a bucket in key order: a range scan of a
# partial index WHERE is_latest holding every listed column (migration 0020), no sort and
# no table lookups. On SQLite that is versions_listed, which INDEXED BY pins (see
# gateway/meta/objects.py LATEST); PostgreSQL drops the hint and reads versions_latest,
# which INCLUDEs the columns. Rows are read by position (rows.listed_from_row): the key is
# r[0].
LIST_SQL = (
    f"SELECT {LISTED_COLUMNS} FROM versions INDEXED BY versions_listed"
    " WHERE bucket = ? AND is_latest"
)


def read_range(bucket: str, seek: Seek, after: Any, n: int, stats: ListingStats) -> Tx[list[Any]]:
    """Up to n rows of `seek`'s range in key order, after the row `after` (None: from
    the seek's lower bound)."""
    if after is not None:
        sql, args = LIST_SQL + " AND key > ?", [bucket, after[0]]
    else:
        sql = LIST_SQL + (" AND key >= ?" if seek.inclusive else " AND key > ?")
        args = [bucket, seek.lower]
    if seek.upper is not None:
        sql += " AND key < ?"
        args.append(seek.upper)
    found = yield from rows(sql + " AND NOT is_delete_marker ORDER BY key LIMIT ?", *args, n)
    stats.queries += 1
    stats.rows += len(found)
    return found


def list_objects(
    bucket: str,
    *,
    prefix: str,
    delimiter: str,
    start_after: str,
    max_keys: int,
    stats: ListingStats,
) -> Tx[ListPage]:
    """One ListObjects page (MetaStore.list_objects), run in one snapshot."""
    yield from require_bucket(bucket)
    steps: Steps[Any] = listing_steps(
        lambda r: str(r[0]),
        prefix=prefix,
        delimiter=delimiter,
        start_after=start_after,
        max_keys=max_keys,
    )
    # Without a delimiter the walk reads every row it asks for: one batch. With one it may
    # leave a range at its first row (a key that rolls up): start small.
    listing: Listing[Any] = yield from feed(
        steps,
        lambda seek, after, n: read_range(bucket, seek, after, n, stats),
        first=2 if delimiter else None,
    )
    return ListPage(
        objects=[listed_from_row(r) for r in listing.rows],
        common_prefixes=listing.common_prefixes,
        is_truncated=listing.is_truncated,
        next_marker=listing.next_marker,
    )
