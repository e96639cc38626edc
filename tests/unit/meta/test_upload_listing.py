"""gateway.meta.upload_listing (the ListMultipartUploads walk) and gateway.meta.ranges.feed
(how a walk's ranges are read in a transaction body), against an in-memory table: pages
match a brute-force reference, ranges are read in doubling batches with keyset
continuation, and rows past a seek are never read."""

from __future__ import annotations

import itertools
import random
import sqlite3
from collections.abc import Generator, Iterator
from typing import Any, TypeVar

import pytest

from gateway.meta import buckets, objects, uploads, versions
from gateway.meta.base import Bucket, ObjectVersion, Upload
from gateway.meta.migrations import migrate
from gateway.meta.ranges import feed
from gateway.meta.sql import SQLITE, Stmt, Tx, run_sync
from gateway.meta.upload_listing import (
    UploadListing,
    UploadSeek,
    UploadSteps,
    upload_listing_steps,
)

T = TypeVar("T")
Row = tuple[str, str]  # (key, upload id)


def run_pure(tx: Tx[T]) -> T:
    """Run a body that yields no statement (its reads are answered in memory)."""
    try:
        op = next(tx)
    except StopIteration as done:
        result: T = done.value
        return result
    raise AssertionError(f"unexpected statement {op}")


class Table:
    """Uploads in (key, upload id) order, read as uploads._read_uploads reads them."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = sorted(rows)
        self.batches: list[int] = []  # the size asked of each query
        self.read = 0  # rows returned by all queries

    def batch(self, seek: UploadSeek, after: Row | None, n: int) -> Generator[Any, Any, list[Row]]:
        def in_range(row: Row) -> bool:
            if after is not None:
                low = row > after
            elif seek.after_id is not None:
                low = row > (seek.key, seek.after_id)
            else:
                low = row[0] >= seek.key if seek.inclusive else row[0] > seek.key
            return low and (seek.upper is None or row[0] < seek.upper)

        yield from ()  # a transaction body that happens to yield no statement
        found = [r for r in self.rows if in_range(r)][:n]
        self.batches.append(n)
        self.read += len(found)
        return found

    def page(
        self, prefix: str, delimiter: str, key_marker: str, id_marker: str, max_uploads: int
    ) -> UploadListing[Row]:
        steps: UploadSteps[Row] = upload_listing_steps(
            lambda r: r[0],
            lambda r: r[1],
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            upload_id_marker=id_marker,
            max_uploads=max_uploads,
        )
        return run_pure(feed(steps, self.batch, 2 if delimiter else None))


def reference(
    rows: list[Row], prefix: str, delimiter: str, key_marker: str, id_marker: str
) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for key, upload_id in sorted(rows):
        if not key.startswith(prefix):
            continue
        i = key.find(delimiter, len(prefix)) if delimiter else -1
        if i >= 0:
            cp = key[: i + len(delimiter)]
            if (not out or out[-1] != (cp, None)) and (not key_marker or cp > key_marker):
                out.append((cp, None))
            continue
        if key_marker and not (
            key > key_marker or (id_marker and key == key_marker and upload_id > id_marker)
        ):
            continue
        out.append((key, upload_id))
    return out


def all_pages(
    table: Table, prefix: str, delimiter: str, key_marker: str, id_marker: str, max_uploads: int
) -> list[tuple[str, str | None]]:
    got: list[tuple[str, str | None]] = []
    for _ in range(10_000):
        page = table.page(prefix, delimiter, key_marker, id_marker, max_uploads)
        items: list[tuple[str, str | None]] = [(k, u) for k, u in page.rows]
        items += [(cp, None) for cp in page.common_prefixes]
        assert len(items) <= max_uploads
        got += sorted(items, key=lambda i: (i[0], i[1] or ""))
        if not page.is_truncated:
            return got
        assert page.next_key_marker is not None
        key_marker, id_marker = page.next_key_marker, page.next_upload_id_marker or ""
    raise AssertionError("pagination does not end")


def test_pages_match_reference() -> None:
    rng = random.Random(7)
    for _ in range(30):
        rows = [
            ("".join(rng.choice("ab/") for _ in range(rng.randint(1, 5))), f"u{rng.randint(0, 9)}")
            for _ in range(rng.randint(0, 30))
        ]
        rows = sorted(set(rows))
        markers = [("", ""), ("a", ""), ("a/", "u5"), ("b", "u0"), ("zz", "")]
        for prefix, delimiter, (km, um), max_uploads in itertools.product(
            ["", "a", "b/"], ["", "/"], markers, [1, 3, 1000]
        ):
            expected = reference(rows, prefix, delimiter, km, um)
            got = all_pages(Table(rows), prefix, delimiter, km, um, max_uploads)
            assert got == expected, (rows, prefix, delimiter, km, um, max_uploads)


def test_reads_one_row_past_the_page() -> None:
    # Moved from tests/contract/test_metastore_multipart_contract.py (walk_uploads).
    table = Table([(f"k{i:03d}", "u") for i in range(500)])
    listing = table.page("", "", "", "", 10)
    assert len(listing.rows) == 10 and listing.is_truncated
    assert table.read == 11 and table.batches == [11]


def test_seeks_past_common_prefixes() -> None:
    table = Table([(f"big/{i:04d}", "u") for i in range(5000)] + [("x", "u")])
    page = table.page("", "/", "", "", 1000)
    assert page.common_prefixes == ["big/"] and page.rows == [("x", "u")]
    # Two rows read under big/ (a batch of 2), not 5,000; then one for x.
    assert table.read == 3 and len(table.batches) == 2


def test_batches_double_with_keyset_continuation() -> None:
    table = Table([(f"k{i:03d}", f"u{j}") for i in range(40) for j in range(2)])
    page = table.page("", "/", "", "", 50)
    assert len(page.rows) == 50 and page.is_truncated
    assert page.next_key_marker == "k024" and page.next_upload_id_marker == "u1"
    # 2 + 4 + 8 + 16 + 21 = the 51 rows asked for, each batch after the last one's end.
    assert table.batches == [2, 4, 8, 16, 21] and table.read == 51


def test_upload_id_marker_continues_within_a_key() -> None:
    table = Table([("k", "u1"), ("k", "u2"), ("k", "u3"), ("m", "u0")])
    page = table.page("", "", "k", "u1", 10)
    assert page.rows == [("k", "u2"), ("k", "u3"), ("m", "u0")]
    assert table.page("", "", "k", "", 10).rows == [("m", "u0")]
    assert table.page("", "", "", "", 0).rows == []


# -- the bodies on SQLite: what a seek past a large common prefix costs ----------------------
def spy(tx: Tx[T], log: list[tuple[Stmt, Any]]) -> Tx[T]:
    """`tx`, recording each statement it runs and what it got back."""
    try:
        op = next(tx)
        while True:
            result = yield op
            if isinstance(op, Stmt):
                log.append((op, result))
            op = tx.send(result)
    except StopIteration as done:
        value: T = done.value
        return value


def rows_read(log: list[tuple[Stmt, Any]]) -> tuple[int, int]:
    """(queries, rows) of the range reads in `log` (the statements wanting every row)."""
    reads = [result for stmt, result in log if stmt.want == "all"]
    return len(reads), sum(len(r) for r in reads)


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    run_sync(conn, migrate(SQLITE))
    run_sync(conn, buckets.create_bucket(Bucket("bkt", "owner", 1.0, "us-east-1")))
    yield conn
    conn.close()


def test_list_uploads_seeks_on_sqlite(db: sqlite3.Connection) -> None:
    def upload(key: str) -> Upload:
        return Upload("bkt", key, f"id-{key}", 1.0, "owner", None, {}, {}, "STANDARD")

    for key in [f"big/{i:04d}" for i in range(5000)] + ["x"]:
        run_sync(db, uploads.create_upload(upload(key)))
    log: list[tuple[Stmt, Any]] = []
    page = run_sync(db, spy(uploads.list_uploads("bkt", delimiter="/"), log))
    assert page.common_prefixes == ["big/"] and [u.key for u in page.uploads] == ["x"]
    queries, read = rows_read(log)
    assert queries <= 3 and read <= 4


def test_list_object_versions_seeks_on_sqlite(db: sqlite3.Connection) -> None:
    db.execute("UPDATE buckets SET versioning = 'Enabled'")
    for i, key in enumerate([f"big/{i:04d}" for i in range(1000)] + ["x"]):
        for n in range(3):
            v = ObjectVersion("bkt", key, f"{i:05d}{n}", float(n), 0, "etag")
            run_sync(db, objects.put_version(v, None, claim_pending=False))
    log: list[tuple[Stmt, Any]] = []
    body = versions.list_object_versions("bkt", delimiter="/")
    page = run_sync(db, spy(body, log))
    assert page.common_prefixes == ["big/"] and [v.key for v in page.versions] == ["x"] * 3
    queries, read = rows_read(log)
    assert queries <= 4 and read <= 6
    # Without a delimiter a page is one range query of max_keys + 1 rows.
    log.clear()
    page = run_sync(db, spy(versions.list_object_versions("bkt", max_keys=100), log))
    assert len(page.versions) == 100 and page.is_truncated
    assert rows_read(log) == (1, 101)
    # From a version id marker: that key's older versions, then the next keys.
    log.clear()
    body = versions.list_object_versions(
        "bkt", key_marker="big/0001", version_id_marker="000011", max_keys=3
    )
    page = run_sync(db, spy(body, log))
    assert [(v.key, v.version_id) for v in page.versions] == [
        ("big/0001", "000010"),
        ("big/0002", "000022"),
        ("big/0002", "000021"),
    ]
    assert rows_read(log) == (2, 4)
