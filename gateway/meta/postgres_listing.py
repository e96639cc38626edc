"""ListObjects on PostgreSQL: gateway.meta.listing's seek walk, fed over the network.

The walk (listing_steps) is the one SQLite uses; only the way rows reach it differs. A
round trip per seek would make a page of 1,000 common prefixes cost 1,000 round trips, so:

- Without a delimiter nothing is ever skipped: gateway.meta.listing.list_objects, one
  range query, LIMIT max_keys + 1, in key order on the partial index versions_latest
  (bucket, key) WHERE is_latest.
- With a delimiter, SKIP_SCAN_SQL runs the seek walk *inside PostgreSQL*: a recursive
  query whose every step reads a batch of keys from `lower` on that index and cuts it at
  the first key that rolls up; the next step starts at successor(common prefix), or just
  past the batch. Batches double while nothing rolls up and shrink to where the last cut
  fell, so a folder of files reads like a range scan and a folder of folders costs one
  probe per folder. It returns the keys the walk will ask for, up to max_keys + 1 of them,
  in one round trip (for 1,000 common prefixes: ~45 ms instead of 1,000 round trips).
  The Python walk still decides everything: each key is handed to it only if the walk's
  Seek matches the bound it was read from, and on any mismatch (which would be a bug; a
  delimiter ending in U+10FFFF, whose successor the SQL does not compute, never gets
  here) the page is listed again with gateway.meta.listing.list_objects's range
  queries. Then one more query reads the full rows of the keys listed as
  objects, in the same REPEATABLE READ snapshot.

"Just past key k" is the inclusive bound k || U+0001: PostgreSQL text cannot hold U+0000,
so no key lies strictly between k and k || U+0001. Keys compare with COLLATE "C" (code
point order, which is what Python's str comparison and successor() use).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from gateway.meta import listing
from gateway.meta.base import ListPage
from gateway.meta.listing import Listing, ListingStats, Seek, listing_steps, rolled_up, successor
from gateway.meta.ranges import feed
from gateway.meta.rows import LISTED_COLUMNS, listed_from_row, require_bucket
from gateway.meta.sql import Tx, rows

# PostgreSQL-only SQL, so written with its own numbered parameters.
_ROWS = (
    f"SELECT {LISTED_COLUMNS} FROM versions WHERE bucket = $1 AND is_latest"
    " AND NOT is_delete_marker AND key = ANY($2::text[]) ORDER BY key"
)

# The skip scan. Each step reads a batch of keys from `lower` (one index range read) and
# cuts it at the first key that rolls up into a common prefix; the next step starts at
# successor(that prefix), or just past the batch if nothing rolled up. The batch size
# adapts: it doubles while no key rolls up (a folder of files reads like a plain range)
# and shrinks to where the last cut fell (a folder of folders costs one probe each).
# $1 bucket, $2 first lower (inclusive), $3 len(prefix), $4 len(delimiter), $5 the code
# point after the delimiter's last one, $6 delimiter, $7 items wanted, $8 upper bound.
_SKIP_SCAN = """
WITH RECURSIVE walk (n, lower, keys, size, done) AS (
    SELECT 1, $2::text COLLATE "C", ARRAY(
            SELECT v.key FROM versions v
            WHERE v.bucket = $1 AND v.is_latest AND NOT v.is_delete_marker
              AND v.key >= $2::text {upper}
            ORDER BY v.key LIMIT 1),
        1, 0
  UNION ALL
    SELECT w.n + 1, nx.lower, ARRAY(
            SELECT v.key FROM versions v
            WHERE v.bucket = $1 AND v.is_latest AND NOT v.is_delete_marker
              AND v.key >= nx.lower {upper}
            ORDER BY v.key LIMIT least(nx.size, $7::int - nx.done)),
        least(nx.size, $7::int - nx.done), nx.done
    FROM walk w
    CROSS JOIN LATERAL (SELECT min(i) AS at FROM generate_subscripts(w.keys, 1) AS i
        WHERE strpos(substr(w.keys[i], $3::int + 1), $6::text) > 0) c
    CROSS JOIN LATERAL (SELECT
        (CASE
            WHEN c.at IS NOT NULL THEN left(w.keys[c.at], $3::int
                + strpos(substr(w.keys[c.at], $3::int + 1), $6::text) + $4::int - 2) || $5::text
            WHEN cardinality(w.keys) = w.size THEN w.keys[w.size] || chr(1)
        END) COLLATE "C" AS lower,
        (CASE WHEN c.at IS NULL THEN w.size * 2 ELSE c.at END) AS size,
        w.done + coalesce(c.at, cardinality(w.keys)) AS done
    ) nx
    WHERE nx.lower IS NOT NULL AND nx.done < $7::int
)
SELECT lower, keys, size,
    (SELECT min(i) FROM generate_subscripts(keys, 1) AS i
        WHERE strpos(substr(keys[i], $3::int + 1), $6::text) > 0) AS cut
FROM walk ORDER BY n
"""
SKIP_SCAN_SQL = _SKIP_SCAN.format(upper="")
SKIP_SCAN_BOUNDED_SQL = _SKIP_SCAN.format(upper="AND v.key < $8::text")


def _after(key: str) -> str:
    """The least PostgreSQL text greater than `key` (see the module docstring)."""
    return key + "\x01"


class _Mismatch(Exception):
    """The walk asked for a range the skip scan did not probe (see the module docstring)."""


class _SkipScan:
    """Answers the walk's seeks from SKIP_SCAN_SQL's probes (see the module docstring)."""

    def __init__(
        self, bucket: str, *, prefix: str, delimiter: str, max_keys: int, stats: ListingStats
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.delimiter = delimiter
        self.steps = max_keys + 1
        self.stats = stats
        self.after_cp = successor(delimiter[-1])
        # (the inclusive lower bound a key was found from, the key or None where the
        # range ran dry), in walk order.
        self.probes: deque[tuple[str, str | None]] = deque()

    @staticmethod
    def usable(delimiter: str) -> bool:
        # successor(CP) = CP[:-1] + successor(last code point) unless that is U+10FFFF.
        return bool(delimiter) and len(successor(delimiter[-1]) or "") == 1

    def _probe(self, lower: str, upper: str | None) -> Tx[None]:
        """Run the skip scan from `lower`; queue what it found."""
        args: list[Any] = [
            self.bucket,
            lower,
            len(self.prefix),
            len(self.delimiter),
            self.after_cp,
            self.delimiter,
            self.steps,
        ]
        sql = SKIP_SCAN_SQL
        if upper is not None:
            sql = SKIP_SCAN_BOUNDED_SQL
            args.append(upper)
        found = yield from rows(sql, *args)
        self.stats.queries += 1
        for r in found:
            keys: list[str] = r["keys"]
            self.stats.rows += len(keys)
            at = r["lower"]
            for key in keys[: r["cut"]] if r["cut"] else keys:
                self.probes.append((at, key))
                at = _after(key)
            if r["cut"] is None and len(keys) < r["size"]:
                self.probes.append((at, None))  # nothing more below the upper bound

    def read(self, seek: Seek, after: str | None, n: int) -> Tx[list[str]]:
        """Up to n keys of `seek`'s range after `after` (ranges.feed's `read`): fewer only
        where the range runs dry or at a key that rolls up (the walk seeks past it)."""
        lower = (
            (seek.lower if seek.inclusive else _after(seek.lower))
            if after is None
            else _after(after)
        )
        keys: list[str] = []
        while len(keys) < n:
            if not self.probes:
                yield from self._probe(lower, seek.upper)
            probed_lower, key = self.probes.popleft()
            if probed_lower != lower:
                raise _Mismatch(lower)
            if key is None:
                break
            keys.append(key)
            lower = _after(key)
            if rolled_up(key, self.prefix, self.delimiter) is not None:
                break
        return keys


def list_latest(
    bucket: str,
    *,
    prefix: str,
    delimiter: str,
    start_after: str,
    max_keys: int,
    stats: ListingStats,
) -> Tx[ListPage]:
    """One ListObjects page, in one REPEATABLE READ (one snapshot) transaction."""
    if _SkipScan.usable(delimiter):
        yield from require_bucket(bucket)
        scan = _SkipScan(bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys, stats=stats)
        steps = listing_steps(
            lambda k: k,
            prefix=prefix,
            delimiter=delimiter,
            start_after=start_after,
            max_keys=max_keys,
        )
        try:
            keys: Listing[str] = yield from feed(steps, scan.read)
        except _Mismatch:
            pass  # a bug: list the page with range queries
        else:
            objects = []
            if keys.rows:
                found = yield from rows(_ROWS, bucket, keys.rows)
                stats.queries += 1
                objects = [listed_from_row(r) for r in found]
            return ListPage(objects, keys.common_prefixes, keys.is_truncated, keys.next_marker)
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
