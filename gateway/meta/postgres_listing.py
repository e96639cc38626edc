"""ListObjects on PostgreSQL: gateway.meta.listing's seek walk, fed over the network.

The walk (listing_steps) is the one SQLite uses; only the way rows reach it differs. A
round trip per seek would make a page of 1,000 common prefixes cost 1,000 round trips, so:

- Without a delimiter nothing is ever skipped: gateway.meta.listing.list_objects, one
  range query, LIMIT max_keys + 1, in key order on the partial index versions_latest
  (bucket, key) WHERE is_latest, which INCLUDEs the listed columns (migration 0020): an
  index-only scan.
- With a delimiter, the walk starts with those range queries, in batches doubling from 2
  rows (gateway.meta.ranges), and keeps them while no key rolls up: a folder of files
  reads as a range. From the first key that rolls up on, SKIP_SCAN_SQL
  (gateway/meta/skip_scan.py) runs the walk's seeks *inside PostgreSQL*, in one round
  trip: a recursive query, one index probe per step, returning the keys the walk will
  ask for (up to max_keys + 1) with the listed columns of those that do not roll up.

"Just past key k" is the inclusive bound k || U+0001: PostgreSQL text cannot hold U+0000,
so no key lies strictly between k and k || U+0001. Keys compare with COLLATE "C" (code
point order, which is what Python's str comparison and successor() use).
"""

from __future__ import annotations

import functools

from gateway.meta import skip_scan
from gateway.meta.rows import LISTED_COLUMNS
from gateway.meta.skip_scan import SkipScanQueries

# PostgreSQL-only SQL, so written with its own numbered parameters: $1 bucket, $2 first
# lower (inclusive), $3 len(prefix), $4 len(delimiter), $5 the code point after the
# delimiter's last one, $6 delimiter, $7 keys wanted, $8 upper bound (exclusive).
#
# The skip scan. Each step probes versions_latest for the first key from `lower` (an
# index-only scan: the index INCLUDEs what listings read, migration 0020); the next step
# starts at successor(common prefix) if that key rolls up, or just past the key. Keys that
# do not roll up come with their listed columns (one more probe of the same index), so
# the page needs no other statement (a key that rolls up is joined as NULL, which the
# index does not probe). (An earlier version read adaptive batches of keys
# per step, held in arrays: for a folder of folders, one probe per step anyway, at about
# 30 ms of server CPU per 1,000 steps against 18 ms for this one; a folder of files is
# read with range queries instead, see the module docstring.)
#
# Each step carries `at`, where the delimiter is in its key after the prefix (0: the key
# does not roll up), computed once from the probed key: the next bound and the join read
# it instead of searching the key again (strpos and substr count characters, walking the
# UTF-8 bytes; the bound's CASE, inlined into both the probe and the `lower` column, and
# the join searched each key five times). The steps' subqueries are kept whole by OFFSET
# 0: pulled up, a probe would be copied into both the key and `at`, and run twice. About
# 10% less server CPU per page of 1,000 folders (bench/RESULTS.md, "PostgreSQL page of
# 1,000 folders"). Two thirds of what is left is the probe itself: the btree descent, and
# PostgreSQL 15 checking every key of the rest of the leaf page past the first match.
# A PL/pgSQL loop of the same probe (a cached plan each) was slower: executor start-up
# per probe, 16 against 11 ms of server CPU per page.
_PROBE = """(SELECT v.key FROM versions v
        WHERE v.bucket = $1 AND v.is_latest AND NOT v.is_delete_marker
          AND v.key >= {lower} {upper}
        ORDER BY v.key LIMIT 1)"""
_AT = "strpos(substr(p.key, $3::int + 1), $6::text)"
_SKIP_SCAN = """
WITH RECURSIVE walk (n, lower, key, at) AS (
    SELECT 1, $2::text COLLATE "C", p.key, {at}
    FROM (SELECT {first} AS key OFFSET 0) p
  UNION ALL
    SELECT w.n + 1, p.lower, p.key, {at}
    FROM walk w
    CROSS JOIN LATERAL (
        SELECT nx.lower, {probe} AS key
        FROM (SELECT (CASE WHEN w.at > 0
            THEN left(w.key, $3::int + w.at + $4::int - 2) || $5::text
            ELSE w.key || chr(1) END) COLLATE "C" AS lower) nx
        OFFSET 0
    ) p
    WHERE w.key IS NOT NULL AND w.n < $7::int
)
SELECT w.lower, w.key, {columns} FROM walk w
LEFT JOIN versions v
    ON v.bucket = $1 AND v.is_latest AND v.key = (CASE WHEN w.at = 0 THEN w.key END)
ORDER BY w.n
"""
# LISTED_COLUMNS but the key, of `v`.
_COLUMNS = ", ".join(f"v.{c.strip()}" for c in LISTED_COLUMNS.split(",")[1:])


def _skip_scan(upper: str) -> str:
    return _SKIP_SCAN.format(
        first=_PROBE.format(lower="$2::text", upper=upper),
        probe=_PROBE.format(lower="nx.lower", upper=upper),
        at=_AT,
        columns=_COLUMNS,
    )


SKIP_SCAN_SQL = _skip_scan("AND $8::text IS NULL")
SKIP_SCAN_BOUNDED_SQL = _skip_scan("AND v.key < $8::text")


# Just past key k: k || U+0001 (see the module docstring).
QUERIES = SkipScanQueries(SKIP_SCAN_SQL, SKIP_SCAN_BOUNDED_SQL, just_past="\x01")
list_latest = functools.partial(skip_scan.list_latest, QUERIES)
