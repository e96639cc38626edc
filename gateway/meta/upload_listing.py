"""ListMultipartUploads over an ordered (key, upload_id) index, seeking past common prefixes.

Pure, like gateway.meta.listing: walk_uploads() drives a `fetch` callable that each
MetaStore implements with one indexed range query, and decides what to return. The
semantics are those of MetaStore.list_uploads (gateway/meta/base.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.meta.listing import rolled_up, successor

R = TypeVar("R")


@dataclass(frozen=True)
class Bound:
    """Where a fetch starts: key >= key (inclusive), key > key, or after (key, after_id)."""

    key: str
    inclusive: bool = True
    after_id: str | None = None  # set: (key, upload_id) > (key, after_id)


# fetch(bound, upper_exclusive, limit): uploads from `bound` with key < upper (None: no
# upper bound), in (key, upload_id) order, at most `limit`, produced lazily (rows the walk
# does not consume are never read).
Fetch = Callable[[Bound, str | None, int], Iterator[R]]


@dataclass
class UploadListing(Generic[R]):
    rows: list[R]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None


def start_bound(
    prefix: str, delimiter: str, key_marker: str, upload_id_marker: str
) -> Bound | None:
    """The first position to read; None when the markers lie past everything listable."""
    if not key_marker or key_marker < prefix:
        return Bound(prefix)
    cp = rolled_up(key_marker, prefix, delimiter)
    if cp is not None:  # the marker's whole common prefix was listed already
        after = successor(cp)
        return None if after is None else Bound(after)
    if upload_id_marker:
        return Bound(key_marker, inclusive=False, after_id=upload_id_marker)
    return Bound(key_marker, inclusive=False)


def walk_uploads(
    fetch: Fetch[R],
    key_of: Callable[[R], str],
    id_of: Callable[[R], str],
    *,
    prefix: str,
    delimiter: str,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
) -> UploadListing[R]:
    """One ListMultipartUploads page (see MetaStore.list_uploads)."""
    rows: list[R] = []
    prefixes: list[str] = []
    last_key: str | None = None
    last_id: str | None = None
    if max_uploads <= 0:
        return UploadListing(rows, prefixes, False, None, None)
    upper = successor(prefix) if prefix else None
    bound = start_bound(prefix, delimiter, key_marker, upload_id_marker)
    while bound is not None and (upper is None or bound.key < upper):
        seek: str | None = None
        for row in fetch(bound, upper, max_uploads - len(rows) - len(prefixes) + 1):
            key = key_of(row)
            if len(rows) + len(prefixes) == max_uploads:
                return UploadListing(rows, prefixes, True, last_key, last_id)
            cp = rolled_up(key, prefix, delimiter)
            if cp is None:
                rows.append(row)
                last_key, last_id = key, id_of(row)
                continue
            prefixes.append(cp)
            last_key, last_id = cp, None
            seek = successor(cp)
            break
        else:
            break  # the fetch ran dry below its limit: nothing left
        bound = None if seek is None else Bound(seek)
    return UploadListing(rows, prefixes, False, last_key, last_id)
