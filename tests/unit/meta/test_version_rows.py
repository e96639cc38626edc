"""rows.version_with_data reads get_object's row by position: the same version as reading
it by column name, every field in its place."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from gateway.meta.base import NULL_VERSION, ObjectVersion, Segment
from gateway.meta.rows import (
    VERSION_COLUMNS,
    dump_map,
    dump_segments,
    version_from_row,
    version_with_data,
)

COLUMNS = [c.strip() for c in VERSION_COLUMNS.split(",")] + ["inline_data"]


class NamedRow:
    """A row read by name (as sqlite3.Row and asyncpg.Record are) and iterated in order."""

    def __init__(self, values: dict[str, Any]) -> None:
        assert list(values) == COLUMNS
        self.values = values

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.values.values())


def test_a_row_read_by_position_is_the_row_read_by_name() -> None:
    # Every column distinct and off its default, so a swapped pair shows.
    values = {
        "bucket": "b",
        "key": "k",
        "version_id": "v1",
        "is_latest": 0,
        "is_delete_marker": 1,
        "size": 3,
        "etag": "e",
        "last_modified": 12.5,
        "owner": "o",
        "content_type": "text/plain",
        "headers": dump_map({"cache-control": "no"}),
        "user_meta": dump_map({"m": "1"}),
        "checksums": dump_map({"CRC32": "c"}),
        "checksum_type": "FULL_OBJECT",
        "segments": dump_segments([Segment("", 3, inline=True)]),
        "tags": dump_map({"t": "2"}),
        "storage_class": "GLACIER",
        "retention_mode": "GOVERNANCE",
        "retain_until": 99.0,
        "legal_hold": 1,
        "acl": "{}",
        "inline_data": memoryview(b"abc"),
    }
    row = NamedRow(values)
    read = version_with_data(row)
    assert read == replace(version_from_row(row), inline_data=b"abc")
    assert type(read.inline_data) is bytes
    assert version_with_data(NamedRow({**values, "inline_data": None})).inline_data is None


def test_a_version_as_stored_is_replace_with_its_id_and_latest() -> None:
    # ObjectVersion.as_latest is dataclasses.replace without its walk: the same fields,
    # the original untouched, and no copy when nothing changes.
    v = ObjectVersion(
        "bucket", "key", "v1", 1.5, size=4, etag="e", is_latest=False, tags={"a": "b"},
        segments=(Segment("blob", 4),), retention_mode="GOVERNANCE", inline_data=b"data",
    )  # fmt: skip
    stored = v.as_latest(NULL_VERSION)
    assert stored == replace(v, version_id=NULL_VERSION, is_latest=True)
    assert (v.version_id, v.is_latest) == ("v1", False)
    assert stored.as_latest(NULL_VERSION) is stored
    assert replace(stored, size=5).size == 5  # still a dataclass of its own fields
