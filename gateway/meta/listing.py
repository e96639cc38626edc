"""ListObjects over an ordered key index, seeking past common prefixes (DESIGN.md,
"Metadata store": listing must not read every key under a common prefix).

Pure: walk_listing() drives a `fetch` callable that each MetaStore implements with one
indexed range query (SQLite here, PostgreSQL later), and decides what to return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

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


def _rolled_up(key: str, prefix: str, delimiter: str) -> str | None:
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


# fetch(lower, lower_inclusive, upper_exclusive, limit): the latest non-delete-marker
# versions within the bounds in key order, all of them up to `limit`, produced lazily: the
# walk may stop consuming at any row (to seek) and rows it did not consume cost nothing.
Fetch = Callable[[str, bool, str | None, int], Iterator[R]]


def walk_listing(
    fetch: Fetch[R],
    key_of: Callable[[R], str],
    *,
    prefix: str,
    delimiter: str,
    start_after: str,
    max_keys: int,
) -> Listing[R]:
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
        cp = _rolled_up(start_after, prefix, delimiter)
        if cp is not None:
            lower, inclusive = successor(cp), True
    last: str | None = None
    while lower is not None and (upper is None or lower < upper):
        seek: str | None = None
        for row in fetch(lower, inclusive, upper, max_keys - len(rows) - len(prefixes) + 1):
            key = key_of(row)
            if len(rows) + len(prefixes) == max_keys:
                return Listing(rows, prefixes, True, last)
            cp = _rolled_up(key, prefix, delimiter)
            if cp is None:
                rows.append(row)
                last = key
                continue
            prefixes.append(cp)
            last = cp
            seek = successor(cp)
            break
        else:
            break  # the fetch ran dry below its limit: nothing left
        lower, inclusive = seek, True
    return Listing(rows, prefixes, False, last)
