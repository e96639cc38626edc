"""ListObjectVersions over the (bucket, key, seq) index, seeking past common prefixes.

Pure and sans-IO, like gateway/meta/listing.py (whose successor() it shares): the walk is a
generator that asks for ranges of version rows (`VersionSeek`), is sent rows one at a
time in (key ascending, seq descending) order, i.e. each key's versions newest first, and
decides what to return. gateway.meta.versions.list_object_versions feeds it with range
queries (gateway.meta.ranges.feed).

Position: versions after (key_marker, version_id_marker). The store turns the version id
marker into the version's seq; the first range then starts with that key's versions
below that seq (older ones), then the keys after it. A key_marker inside a common prefix
(the NextKeyMarker of a page that ended on that prefix) skips the whole prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.meta.listing import rolled_up, successor

R = TypeVar("R")


@dataclass(frozen=True)
class VersionSeek:
    """Rows from `key` on, below `upper` (None: no bound), at most `limit` of them.

    below_seq set: first the versions of `key` with seq < below_seq, then keys > key
    (inclusive is False then). Then: keys >= key (inclusive) or > key.
    """

    key: str
    inclusive: bool
    upper: str | None
    limit: int
    below_seq: int | None = None


@dataclass
class VersionListing(Generic[R]):
    rows: list[R]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_version_id_marker: str | None

    @property
    def next_markers(self) -> tuple[str | None, str | None]:
        return self.next_key_marker, self.next_version_id_marker


VersionSteps = Generator[VersionSeek | None, R | None, VersionListing[R]]


def version_listing_steps(
    key_of: Callable[[R], str],
    id_of: Callable[[R], str],
    *,
    prefix: str,
    delimiter: str,
    key_marker: str,
    marker_seq: int | None,
    max_keys: int,
) -> VersionSteps[R]:
    """See the module docstring. Versions and common prefixes count against max_keys; one
    more item is looked for, so is_truncated is exact. The next markers are the last
    version returned (key, version id), or the last common prefix (prefix, None)."""
    rows: list[R] = []
    prefixes: list[str] = []
    if max_keys <= 0:
        return VersionListing(rows, prefixes, False, None, None)
    upper = successor(prefix) if prefix else None
    lower: str | None = prefix
    inclusive, below = True, None
    if key_marker and key_marker >= prefix:
        cp = rolled_up(key_marker, prefix, delimiter)
        if cp is not None:
            lower = successor(cp)
        elif marker_seq is not None:
            lower, inclusive, below = key_marker, False, marker_seq
        else:
            lower, inclusive = key_marker, False
    last: tuple[str, str | None] | None = None
    while lower is not None and (upper is None or lower < upper):
        seek: str | None = None
        want = max_keys - len(rows) - len(prefixes) + 1
        row = yield VersionSeek(lower, inclusive, upper, want, below)
        below = None
        while row is not None:
            if len(rows) + len(prefixes) == max_keys:
                assert last is not None
                return VersionListing(rows, prefixes, True, last[0], last[1])
            key = key_of(row)
            cp = rolled_up(key, prefix, delimiter)
            if cp is None:
                rows.append(row)
                last = (key, id_of(row))
                row = yield None
                continue
            prefixes.append(cp)
            last = (cp, None)
            seek = successor(cp)
            break
        else:
            break  # the range ran dry below its limit: nothing left
        lower, inclusive = seek, True
    return VersionListing(rows, prefixes, False, None, None)
