"""ListObjects on SQLite: gateway.meta.listing's seek walk, its seeks run in one statement.

- Without a delimiter nothing is ever skipped: gateway.meta.listing.list_objects, one
  range query on the covering index versions_listed (migration 0020).
- With a delimiter, the walk starts with those range queries, in batches doubling from 2
  rows (gateway.meta.ranges), and keeps them while no key rolls up: a folder of files
  reads as a range. From the first key that rolls up on, SKIP_SCAN_SQL
  (gateway/meta/skip_scan.py) runs the walk's seeks in one recursive query: each step is
  one probe of versions_listed for the first key from `lower`; the next step's `lower`
  is successor(common prefix) if that key rolls up, or just past the key. A page of 1,000
  common prefixes is one statement of 1,000 index probes (a few µs each in SQLite)
  instead of 1,000 statements through the transaction driver (~25 µs each). Keys that do
  not roll up come with their listed columns, so that is the page's last statement.

"Just past key k" is the inclusive bound k || char(0): SQLite's BINARY collation compares
bytes (memcmp, then length), so no text lies strictly between k and k || char(0).
instr/substr count characters (code points), as Python's len() does for the prefix and
the delimiter.
"""

from __future__ import annotations

import functools

from gateway.meta import skip_scan
from gateway.meta.rows import LISTED_COLUMNS
from gateway.meta.skip_scan import SkipScanQueries

# Numbered parameters: ?1 bucket, ?2 first lower (inclusive), ?3 len(prefix),
# ?4 len(delimiter), ?5 the code point after the delimiter's last one, ?6 delimiter,
# ?7 keys wanted, ?8 upper bound (exclusive).
# Whether key `k` rolls up (has the delimiter after the prefix).
_ROLLS = "instr(substr({k}, ?3 + 1), ?6) > 0"
# The next step's lower bound, from the previous step's key w.key.
_NEXT = f"""(CASE WHEN {_ROLLS.format(k="w.key")}
        THEN substr(w.key, 1, ?3 + instr(substr(w.key, ?3 + 1), ?6) + ?4 - 2) || ?5
        ELSE w.key || char(0) END)"""
_PROBE = """(SELECT key FROM versions INDEXED BY versions_listed
        WHERE bucket = ?1 AND is_latest AND NOT is_delete_marker AND key >= {lower} {upper}
        ORDER BY key LIMIT 1)"""
# A recursive step may not join a subquery that reads the step's row, so the bound is
# written twice (SQLite evaluates it twice: a few string functions per step). The keys
# that do not roll up come with their listed columns (one more probe of the same index),
# so the page needs no second statement (a key that rolls up is joined as NULL, which the
# index does not probe). No ORDER BY w.n (a sort): the steps come out of
# the walk in order and the LEFT JOIN keeps its outer rows' order; a row out of order
# would not match the walk's seek, and the page would be listed with range queries.
_SKIP_SCAN = """
WITH RECURSIVE walk (n, lower, key) AS (
    SELECT 1, ?2, {first}
  UNION ALL
    SELECT w.n + 1, {next}, {probe}
    FROM walk w
    WHERE w.key IS NOT NULL AND w.n < ?7
)
SELECT w.lower, w.key, {columns} FROM walk w
LEFT JOIN versions v INDEXED BY versions_listed
    ON v.bucket = ?1 AND v.is_latest AND v.key = (CASE WHEN {rolls} THEN NULL ELSE w.key END)
"""
# LISTED_COLUMNS but the key, of `v`.
_COLUMNS = ", ".join(f"v.{c.strip()}" for c in LISTED_COLUMNS.split(",")[1:])


def _skip_scan(upper: str) -> str:
    return _SKIP_SCAN.format(
        first=_PROBE.format(lower="?2", upper=upper),
        next=_NEXT,
        probe=_PROBE.format(lower=_NEXT, upper=upper),
        columns=_COLUMNS,
        rolls=_ROLLS.format(k="w.key"),
    )


SKIP_SCAN_SQL = _skip_scan("AND ?8 IS NULL")
SKIP_SCAN_BOUNDED_SQL = _skip_scan("AND key < ?8")


# Just past key k: k || char(0) (see the module docstring).
QUERIES = SkipScanQueries(SKIP_SCAN_SQL, SKIP_SCAN_BOUNDED_SQL, just_past="\x00")
list_latest = functools.partial(skip_scan.list_latest, QUERIES)
