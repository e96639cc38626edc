"""A sans-IO listing walk run inside a transaction body, on either database.

The walks (gateway.meta.listing.listing_steps, upload_listing.upload_listing_steps,
version_listing.version_listing_steps) yield a seek — a range of rows in index order, at
most `limit` of them — or None for the next row of the current range, and are sent rows
(None once a range is exhausted). feed() answers them with range queries yielded as
statements, so the walk runs wherever the body runs: in SQLite's store thread, or on the
event loop for PostgreSQL, with no thread bridge between the two.

Rows the walk does not consume must cost little: a walk with a delimiter abandons a range
at the first key that rolls up into a common prefix. So each range is read in batches
that double, from `first` rows, each batch continuing strictly after the last row of the
one before (keyset continuation, one index seek per batch); a walk that leaves a range
after its first row wastes at most one row, and a long range costs a logarithmic number
of queries. Without a delimiter a walk reads every row it asks for: one batch of `limit`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Protocol, TypeVar

from gateway.meta.sql import Tx


class Ranged(Protocol):
    """A seek: feed() only needs how many rows it asks for."""

    @property
    def limit(self) -> int: ...


S = TypeVar("S", bound=Ranged)
R = TypeVar("R")
L = TypeVar("L")

# read(seek, after, n): up to n rows of `seek`'s range in the walk's order, strictly after
# `after` (a row this range returned earlier; None: from the range's start).
Read = Callable[[S, R | None, int], Tx[list[R]]]


def feed(steps: Generator[S | None, Any, L], read: Read[S, R], first: int | None = None) -> Tx[L]:
    """Run `steps` to its result, reading each range with `read` in batches doubling from
    `first` rows (None: the whole range at once). `steps` is sent rows of type R, or None."""
    try:
        want = next(steps)
        while want is not None:
            seek, after, left = want, None, want.limit
            size = left if first is None else first
            want = None
            while want is None:
                n = min(size, left)
                batch = yield from read(seek, after, n)
                for row in batch:
                    want = steps.send(row)
                    if want is not None:
                        break  # the walk seeks elsewhere: the rest of the range is unread
                else:
                    left -= n
                    if len(batch) < n or left <= 0:
                        want = steps.send(None)  # the range is exhausted
                        if want is None:
                            raise AssertionError("the walk asked past an exhausted range")
                    else:
                        after, size = batch[-1], size * 2
    except StopIteration as done:
        result: L = done.value
        return result
    raise AssertionError("the walk yielded None before any seek")
