"""ListMultipartUploads over an ordered (key, upload_id) index, seeking past common prefixes.

Pure and sans-IO, like gateway.meta.listing: upload_listing_steps() is a generator that
asks for ranges of uploads (`UploadSeek`), is sent rows one at a time in (key, upload_id)
order, and decides what to return. gateway.meta.uploads.list_uploads feeds it with range
queries (gateway.meta.ranges.feed). The semantics are those of MetaStore.list_uploads
(gateway/meta/base.py).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.meta.listing import rolled_up, successor

R = TypeVar("R")


@dataclass(frozen=True)
class UploadSeek:
    """Uploads from `key` on (key >= key if inclusive, else key > key; with after_id:
    (key, upload_id) > (key, after_id)), below `upper` (None: no bound), in (key,
    upload_id) order, at most `limit` of them."""

    key: str
    inclusive: bool
    upper: str | None
    limit: int
    after_id: str | None = None


@dataclass
class UploadListing(Generic[R]):
    rows: list[R]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None

    @property
    def next_markers(self) -> tuple[str | None, str | None]:
        return self.next_key_marker, self.next_upload_id_marker


# What upload_listing_steps() yields: an UploadSeek (start a new range; abandon the current
# one) or None (the next row of the current range). What it is sent: the next row of the
# current range, or None when that range has no more rows.
UploadSteps = Generator[UploadSeek | None, R | None, UploadListing[R]]


def upload_listing_steps(
    key_of: Callable[[R], str],
    id_of: Callable[[R], str],
    *,
    prefix: str,
    delimiter: str,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
) -> UploadSteps[R]:
    """One ListMultipartUploads page (see MetaStore.list_uploads). Uploads and common
    prefixes count against max_uploads; one more item is looked for, so is_truncated is
    exact."""
    rows: list[R] = []
    prefixes: list[str] = []
    last_key: str | None = None
    last_id: str | None = None
    if max_uploads <= 0:
        return UploadListing(rows, prefixes, False, None, None)
    upper = successor(prefix) if prefix else None
    lower: str | None = prefix
    inclusive, after_id = True, None
    if key_marker and key_marker >= prefix:
        cp = rolled_up(key_marker, prefix, delimiter)
        if cp is not None:  # the marker's whole common prefix was listed already
            lower = successor(cp)
        else:
            lower, inclusive, after_id = key_marker, False, upload_id_marker or None
    while lower is not None and (upper is None or lower < upper):
        seek: str | None = None
        want = max_uploads - len(rows) - len(prefixes) + 1
        row = yield UploadSeek(lower, inclusive, upper, want, after_id)
        while row is not None:
            key = key_of(row)
            if len(rows) + len(prefixes) == max_uploads:
                return UploadListing(rows, prefixes, True, last_key, last_id)
            cp = rolled_up(key, prefix, delimiter)
            if cp is None:
                rows.append(row)
                last_key, last_id = key, id_of(row)
                row = yield None
                continue
            prefixes.append(cp)
            last_key, last_id = cp, None
            seek = successor(cp)
            break
        else:
            break  # the range ran dry below its limit: nothing left
        lower, inclusive, after_id = seek, True, None
    return UploadListing(rows, prefixes, False, last_key, last_id)
