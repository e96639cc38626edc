"""gateway.meta.version_listing: the ListObjectVersions walk against a brute-force
reference, page by page, and proof that it seeks past common prefixes."""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from gateway.meta.listing import successor
from gateway.meta.ranges import feed
from gateway.meta.sql import Tx
from gateway.meta.version_listing import (
    VersionListing,
    VersionSeek,
    VersionSteps,
    version_listing_steps,
)

T = TypeVar("T")


def run_pure(tx: Tx[T]) -> T:
    """Run a body that yields no statement (its reads are answered in memory)."""
    try:
        op = next(tx)
    except StopIteration as done:
        result: T = done.value
        return result
    raise AssertionError(f"unexpected statement {op}")


@dataclass(frozen=True)
class Row:
    key: str
    seq: int

    @property
    def version_id(self) -> str:
        return f"v{self.seq}"


def make_rows(keys: dict[str, int]) -> list[Row]:
    """Each key with `n` versions, in (key, seq descending) order."""
    return [Row(k, s) for k in sorted(keys) for s in range(keys[k], 0, -1)]


class Table:
    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self.read = 0
        self.seeks = 0

    def fetch(self, seek: VersionSeek, after: Row | None, n: int) -> Generator[Any, Any, list[Row]]:
        """Up to n rows of `seek`'s range after `after`, as gateway.meta.versions reads
        them: a transaction body that yields no statement."""
        yield from ()
        if after is not None:  # a range continues after a row as a page after its marker
            seek = VersionSeek(after.key, False, seek.upper, seek.limit, after.seq)
        else:
            self.seeks += 1
        out: list[Row] = []
        if seek.below_seq is not None:
            out += [r for r in self.rows if r.key == seek.key and r.seq < seek.below_seq]
        out += [
            r
            for r in self.rows
            if (r.key >= seek.key if seek.inclusive else r.key > seek.key)
            and (seek.upper is None or r.key < seek.upper)
        ]
        self.read += len(out[:n])
        return out[:n]

    def page(
        self, prefix: str, delimiter: str, key_marker: str, id_marker: str, max_keys: int
    ) -> VersionListing[Row]:
        marker_seq = None
        if key_marker and id_marker:
            found = [r for r in self.rows if r.key == key_marker and r.version_id == id_marker]
            marker_seq = found[0].seq if found else None
        steps: VersionSteps[Row] = version_listing_steps(
            lambda r: r.key,
            lambda r: r.version_id,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            marker_seq=marker_seq,
            max_keys=max_keys,
        )
        return run_pure(feed(steps, self.fetch, 2 if delimiter else None))


def reference(rows: list[Row], prefix: str, delimiter: str) -> list[Row | str]:
    """Every item of a listing without pagination: versions, and common prefixes once."""
    items: list[Row | str] = []
    seen: set[str] = set()
    for r in rows:
        if not r.key.startswith(prefix):
            continue
        i = r.key.find(delimiter, len(prefix)) if delimiter else -1
        if i < 0:
            items.append(r)
            continue
        cp = r.key[: i + len(delimiter)]
        if cp not in seen:
            seen.add(cp)
            items.append(cp)
    return items


def all_pages(table: Table, prefix: str, delimiter: str, max_keys: int) -> list[Row | str]:
    items: list[Row | str] = []
    key_marker, id_marker = "", ""
    for _ in range(10_000):
        page = table.page(prefix, delimiter, key_marker, id_marker, max_keys)
        merged: list[tuple[str, Row | str]] = [(r.key, r) for r in page.rows]
        merged += [(cp, cp) for cp in page.common_prefixes]
        # Within a page, versions and prefixes interleave in key order.
        items += [item for _, item in sorted(merged, key=lambda m: m[0])]
        assert len(merged) <= max_keys
        if not page.is_truncated:
            return items
        assert page.next_key_marker is not None
        key_marker, id_marker = page.next_key_marker, page.next_version_id_marker or ""
    raise AssertionError("pagination does not end")


KEYS = {
    "a": 3,
    "a/b": 1,
    "a/c/d": 2,
    "a/c/e": 1,
    "b": 1,
    "dir/": 2,
    "dir/x": 4,
    "dir/y/z": 1,
    "é": 2,
    "z": 5,
}


@pytest.mark.parametrize("prefix", ["", "a", "a/", "dir/", "nothing"])
@pytest.mark.parametrize("delimiter", ["", "/", "c/"])
@pytest.mark.parametrize("max_keys", [1, 2, 3, 1000])
def test_pages_match_reference(prefix: str, delimiter: str, max_keys: int) -> None:
    rows = make_rows(KEYS)
    assert all_pages(Table(rows), prefix, delimiter, max_keys) == reference(rows, prefix, delimiter)


def test_random_trees() -> None:
    rng = random.Random(7)
    for _ in range(40):
        keys = {
            "".join(rng.choice("ab/") for _ in range(rng.randint(1, 5))): rng.randint(1, 4)
            for _ in range(rng.randint(1, 25))
        }
        rows = make_rows(keys)
        for delimiter in ("", "/"):
            for prefix in ("", "a", "b/"):
                got = all_pages(Table(rows), prefix, delimiter, rng.randint(1, 7))
                assert got == reference(rows, prefix, delimiter)


def test_version_id_marker_continues_within_a_key() -> None:
    table = Table(make_rows({"k": 5, "m": 1}))
    page = table.page("", "", "k", "v3", 10)
    assert [(r.key, r.seq) for r in page.rows] == [("k", 2), ("k", 1), ("m", 1)]
    # A marker naming no version of the key: the keys after it.
    assert [r.key for r in table.page("", "", "k", "v99-gone", 10).rows] == ["m"]
    # A key marker alone skips the whole key.
    assert [r.key for r in table.page("", "", "k", "", 10).rows] == ["m"]


def test_seeks_past_common_prefixes() -> None:
    table = Table(make_rows({**{f"big/{i:04}": 3 for i in range(500)}, "x": 1}))
    page = table.page("", "/", "", "", 1000)
    assert page.common_prefixes == ["big/"] and [r.key for r in page.rows] == ["x"]
    # One batch (two rows) read under big/, not 1,500.
    assert table.read <= 3


def test_key_marker_inside_a_prefix_skips_it() -> None:
    table = Table(make_rows({"a/1": 1, "a/2": 1, "b": 1}))
    page = table.page("", "/", "a/", "", 10)
    assert page.common_prefixes == [] and [r.key for r in page.rows] == ["b"]
    assert successor("a/") == "a0"


def test_truncation_markers() -> None:
    table = Table(make_rows({"a/1": 1, "b": 2}))
    first = table.page("", "/", "", "", 1)
    assert first.common_prefixes == ["a/"] and first.is_truncated
    assert (first.next_key_marker, first.next_version_id_marker) == ("a/", None)
    second = table.page("", "/", "a/", "", 1)
    assert [r.version_id for r in second.rows] == ["v2"]
    assert (second.next_key_marker, second.next_version_id_marker) == ("b", "v2")
    last = table.page("", "/", "b", "v2", 1)
    assert [r.version_id for r in last.rows] == ["v1"] and not last.is_truncated
    assert table.page("", "", "", "", 0).rows == []
