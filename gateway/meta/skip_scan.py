"""ListObjects with a delimiter, the seek walk's probes run inside the database.

A page of 1,000 common prefixes is 1,000 seeks (gateway.meta.listing.listing_steps). One
statement per seek costs a round trip each on PostgreSQL and a pass through the
transaction driver each on SQLite (~25 µs), so each store runs a recursive query that
walks ahead: from a lower bound it finds the first key, cuts it at the delimiter, and
starts the next step at successor(common prefix), or just past the key if it does not
roll up — the walk's own seeks, computed in SQL (gateway/meta/postgres_listing.py,
sqlite_listing.py). A query answers up to max_keys + 1 seeks, and returns the listed
columns of the keys that do not roll up. Probing costs one index descent per key, more
than reading a range, so the walk reads ranges (gateway.meta.listing's queries, through
ranges.feed) until the first key that rolls up: a folder of files never probes. From its
next seek on, _probe hands the walk the probed rows itself, one send per step: a page of
1,000 common prefixes is 1,000 steps of Python too, and the range machinery per step
(a read per seek, the key cut at the delimiter once more) was a third of their cost.

The Python walk still decides everything: each probed key is handed to it only if the
walk's seek matches the bound the key was read from, so a bound computed differently in
SQL (a bug, or text the SQL string functions see differently) is caught, and the page is
listed again with range queries alone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.meta import listing
from gateway.meta.base import ListPage
from gateway.meta.listing import (
    Listing,
    ListingStats,
    Seek,
    Steps,
    listing_steps,
    successor,
)
from gateway.meta.ranges import feed
from gateway.meta.rows import listed_from_row, require_bucket
from gateway.meta.sql import Tx, rows

# What a probe found: (the inclusive lower bound a row was read from, the row, or None
# where the range ran dry), in walk order. A row is rows.LISTED_COLUMNS, key first; only
# the key for a key that rolls up.
Probe = tuple[str, Any]
# ranges.feed's `read`: up to n LISTED_COLUMNS rows of a seek's range after a row.
RangeRead = Callable[[Seek, Any, int], Tx[list[Any]]]


@dataclass(frozen=True)
class SkipScanSql:
    """What a store supplies.

    probe(lower, upper, steps): the probes of a walk from `lower` (inclusive) below
    `upper`, at most `steps` keys. after(key): the inclusive bound just past `key`.
    read_range: the store's range reads (ranges.feed's `read`).
    """

    probe: Callable[[str, str | None, int], Tx[list[Probe]]]
    after: Callable[[str], str]
    read_range: RangeRead


def usable(delimiter: str) -> bool:
    """Whether the SQL can compute the seeks: successor(CP) is CP[:-1] + successor(last
    code point), unless that is U+10FFFF."""
    return bool(delimiter) and len(successor(delimiter[-1]) or "") == 1


class _Mismatch(Exception):
    """The walk asked for a range the skip scan did not probe (see the module docstring)."""


class _Skipping(Exception):
    """The walk seeks past a common prefix: from here on, probes answer it."""

    def __init__(self, seek: Seek) -> None:
        super().__init__(seek)
        self.seek = seek


def _first_range(read_range: RangeRead) -> RangeRead:
    """ranges.feed's `read` for the walk's first seek (a folder of files reads as a range);
    the walk's next seek, past a key that rolled up, raises _Skipping."""
    first: list[Seek] = []

    def read(seek: Seek, after: Any, n: int) -> Tx[list[Any]]:
        if after is None:
            if first:
                raise _Skipping(seek)
            first.append(seek)
        return (yield from read_range(seek, after, n))

    return read


def _probe(sql: SkipScanSql, steps: Steps[Any], seek: Seek, n: int) -> Tx[Listing[Any]]:
    """Run the walk on from `seek` (which it has just yielded) with probes of up to n steps
    each, to its result. Each probe must have been read from the bound the walk asks for:
    successor(CP) after a key that rolled up (the walk yields a Seek), just past a key
    that did not (it yields None: the next row of its range)."""
    queue: deque[Probe] = deque()
    want: Seek | None = seek
    upper, key = seek.upper, ""
    try:
        while True:
            if want is None:
                lower = sql.after(key)
            else:
                upper = want.upper
                lower = want.lower if want.inclusive else sql.after(want.lower)
            if not queue:
                queue.extend((yield from sql.probe(lower, upper, n)))
            probed_lower, row = queue.popleft()
            if probed_lower != lower:
                raise _Mismatch(lower)
            if row is not None:
                key = row[0]
            # (The walk never asks for more rows than its seek's limit: it returns first.)
            want = steps.send(row)
    except StopIteration as done:
        page: Listing[Any] = done.value
        return page


def list_skipping(
    sql: SkipScanSql,
    *,
    prefix: str,
    delimiter: str,
    start_after: str,
    max_keys: int,
) -> Tx[ListPage | None]:
    """One ListObjects page with a usable() delimiter; None on a mismatch (the caller
    lists the page with range queries)."""
    steps: Steps[Any] = listing_steps(
        lambda r: str(r[0]),
        prefix=prefix,
        delimiter=delimiter,
        start_after=start_after,
        max_keys=max_keys,
    )
    try:
        try:
            # Range reads start small: the walk may leave a range at its first row.
            page: Listing[Any] = yield from feed(steps, _first_range(sql.read_range), first=2)
        except _Skipping as skipping:
            page = yield from _probe(sql, steps, skipping.seek, max_keys + 1)
    except _Mismatch:
        return None
    objects = [listed_from_row(r) for r in page.rows]
    return ListPage(objects, page.common_prefixes, page.is_truncated, page.next_marker)


# -- the stores' side ------------------------------------------------------------------------


@dataclass(frozen=True)
class SkipScanQueries:
    """What differs between the stores (gateway/meta/sqlite_listing.py,
    postgres_listing.py): the recursive query, without and with an upper bound (numbered
    parameters: bucket, first lower bound, len(prefix), len(delimiter), the code point
    after the delimiter's last one, delimiter, keys wanted, upper bound), and the
    character that makes `key + just_past` the least text greater than `key`."""

    open_sql: str
    bounded_sql: str
    just_past: str


def _store_sql(
    queries: SkipScanQueries, bucket: str, prefix: str, delimiter: str, stats: ListingStats
) -> SkipScanSql:
    after_cp = successor(delimiter[-1])

    def probe(lower: str, upper: str | None, steps: int) -> Tx[list[Probe]]:
        sql = queries.open_sql if upper is None else queries.bounded_sql
        found = yield from rows(
            sql, bucket, lower, len(prefix), len(delimiter), after_cp, delimiter, steps, upper
        )
        stats.queries += 1
        stats.rows += sum(r[1] is not None for r in found)
        # (lower, the row from its key on, or None): sqlite3.Row and asyncpg.Record slice
        # to tuples.
        return [(r[0], None if r[1] is None else r[1:]) for r in found]

    def read_range(seek: Seek, after: Any, n: int) -> Tx[list[Any]]:
        return (yield from listing.read_range(bucket, seek, after, n, stats))

    return SkipScanSql(probe, lambda key: key + queries.just_past, read_range)


def list_latest(
    queries: SkipScanQueries,
    bucket: str,
    *,
    prefix: str,
    delimiter: str,
    start_after: str,
    max_keys: int,
    stats: ListingStats,
) -> Tx[ListPage]:
    """One ListObjects page, in the store's one-snapshot read transaction: skipping with
    `queries` where the delimiter allows, else (or on a mismatch) range queries alone."""
    if usable(delimiter):
        yield from require_bucket(bucket)
        page = yield from list_skipping(
            _store_sql(queries, bucket, prefix, delimiter, stats),
            prefix=prefix,
            delimiter=delimiter,
            start_after=start_after,
            max_keys=max_keys,
        )
        if page is not None:
            return page
    return (
        yield from listing.list_objects(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            start_after=start_after,
            max_keys=max_keys,
            stats=stats,
        )
    )
