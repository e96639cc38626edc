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

from typing import Any

from gateway.meta import listing
from gateway.meta.base import ListPage
from gateway.meta.listing import ListingStats, successor
from gateway.meta.rows import LISTED_COLUMNS, require_bucket
from gateway.meta.skip_scan import Probe, SkipScanSql, list_skipping, usable
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


def _sql(bucket: str, prefix: str, delimiter: str, stats: ListingStats) -> SkipScanSql:
    after_cp = successor(delimiter[-1])

    def probe(lower: str, upper: str | None, steps: int) -> Tx[list[Probe]]:
        """Run the skip scan from `lower`: the probes its batches found."""
        args: list[Any] = [bucket, lower, len(prefix), len(delimiter), after_cp, delimiter, steps]
        sql = SKIP_SCAN_SQL
        if upper is not None:
            sql = SKIP_SCAN_BOUNDED_SQL
            args.append(upper)
        found = yield from rows(sql, *args)
        stats.queries += 1
        probes: list[Probe] = []
        for r in found:
            keys: list[str] = r["keys"]
            stats.rows += len(keys)
            at = r["lower"]
            for key in keys[: r["cut"]] if r["cut"] else keys:
                probes.append((at, (key,)))
                at = _after(key)
            if r["cut"] is None and len(keys) < r["size"]:
                probes.append((at, None))  # nothing more below the upper bound
        return probes

    def read_rows(keys: list[str]) -> Tx[list[Any]]:
        return (yield from rows(_ROWS, bucket, keys))

    return SkipScanSql(probe, _after, read_rows=read_rows)


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
    if usable(delimiter):
        yield from require_bucket(bucket)
        page = yield from list_skipping(
            _sql(bucket, prefix, delimiter, stats),
            prefix=prefix,
            delimiter=delimiter,
            start_after=start_after,
            max_keys=max_keys,
            stats=stats,
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
