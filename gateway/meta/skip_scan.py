"""ListObjects with a delimiter, the seek walk's probes run inside the database.

A page of 1,000 common prefixes is 1,000 seeks (gateway.meta.listing.listing_steps). One
statement per seek costs a round trip each on PostgreSQL and a pass through the
transaction driver each on SQLite (~25 µs), so each store runs a recursive query that
walks ahead: from a lower bound it finds the first key, cuts it at the delimiter, and
starts the next step at successor(common prefix), or just past the key if it does not
roll up — the walk's own seeks, computed in SQL (gateway/meta/postgres_listing.py,
sqlite_listing.py). A query answers up to max_keys + 1 seeks, and returns the listed
columns of the keys that do not roll up. Probing costs one index descent per key, more
than reading a range, so the walk reads ranges (gateway.meta.listing's queries) until
the first key that rolls up: a folder of files never probes.

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
    rolled_up,
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


class _Probes:
    """Answers the walk's seeks (ranges.feed's `read`) from the probes, probing on demand."""

    def __init__(self, sql: SkipScanSql, *, prefix: str, delimiter: str, steps: int) -> None:
        self.sql = sql
        self.prefix = prefix
        self.delimiter = delimiter
        self.steps = steps
        self.queue: deque[Probe] = deque()
        self.probing = False
        self.seeks = 0

    def read(self, seek: Seek, after: Any, n: int) -> Tx[list[Any]]:
        """Up to n rows of `seek`'s range after the row `after`: fewer only where the range
        runs dry or at a key that rolls up (the walk seeks past it)."""
        if after is None:
            # The walk seeks anew only past a key that rolled up (its first seek aside): a
            # folder of folders, perhaps. Probe from here.
            self.probing = self.seeks > 0
            self.seeks += 1
        if not self.probing:
            return (yield from self.sql.read_range(seek, after, n))
        bound = self.sql.after
        if after is not None:
            lower = bound(after[0])
        else:
            lower = seek.lower if seek.inclusive else bound(seek.lower)
        found: list[Any] = []
        queue = self.queue
        while len(found) < n:
            if not queue:
                queue.extend((yield from self.sql.probe(lower, seek.upper, self.steps)))
            probed_lower, row = queue.popleft()
            if probed_lower != lower:
                raise _Mismatch(lower)
            if row is None:
                break
            found.append(row)
            key = row[0]
            if rolled_up(key, self.prefix, self.delimiter) is not None:
                break
            lower = bound(key)
        return found


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
    probes = _Probes(sql, prefix=prefix, delimiter=delimiter, steps=max_keys + 1)
    steps: Steps[Any] = listing_steps(
        lambda r: str(r[0]),
        prefix=prefix,
        delimiter=delimiter,
        start_after=start_after,
        max_keys=max_keys,
    )
    try:
        # Range reads start small (the walk may leave a range at its first row); probes
        # answer whatever is asked.
        page: Listing[Any] = yield from feed(steps, probes.read, first=2)
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
