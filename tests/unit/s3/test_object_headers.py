"""gateway.s3.object_headers: the response headers of an object version."""

from __future__ import annotations

from gateway.meta.base import Bucket, ObjectVersion, Segment
from gateway.s3.object_headers import (
    checksum_headers,
    object_headers,
    part_checksum_headers,
    version_headers,
)

T0 = 1_138_985_109.0
PLAIN = Bucket("b", "alice", T0)
VERSIONED = Bucket("b", "alice", T0, versioning="Suspended")


def test_version_headers_only_once_versioning_was_enabled() -> None:
    assert version_headers(PLAIN, "v1") == {}
    assert version_headers(VERSIONED, "v1") == {"x-amz-version-id": "v1"}
    assert version_headers(VERSIONED, None) == {}


def test_checksum_headers() -> None:
    version = ObjectVersion(
        "b", "k", "v", T0, checksums={"CRC32": "AAAAAA=="}, checksum_type="FULL_OBJECT"
    )
    assert checksum_headers(version) == {
        "x-amz-checksum-crc32": "AAAAAA==",
        "x-amz-checksum-type": "FULL_OBJECT",
    }
    assert checksum_headers(ObjectVersion("b", "k", "v", T0)) == {}


def test_part_checksum_headers_of_the_objects_algorithm() -> None:
    version = ObjectVersion(
        "b",
        "k",
        "v",
        T0,
        checksums={"CRC32": "x-2"},
        segments=(
            Segment("b1", 5, part_number=1, checksums={"CRC32": "p1", "SHA1": "s1"}),
            Segment("b2", 5, part_number=2, checksums={"CRC32": "p2"}),
        ),
    )
    assert part_checksum_headers(version, 1) == {"x-amz-checksum-crc32": "p1"}
    assert part_checksum_headers(version, 3) == {}


def test_object_headers() -> None:
    version = ObjectVersion(
        "b",
        "k",
        "v1",
        T0,
        size=3,
        etag="abc",
        content_type=None,
        headers={"cache-control": "no-cache"},
        user_meta={"color": "red"},
        tags={"a": "1"},
        storage_class="STANDARD_IA",
        checksums={"CRC32": "AAAAAA=="},
        checksum_type="FULL_OBJECT",
    )
    headers = object_headers(
        VERSIONED, version, with_checksums=False, overrides={"Content-Type": "text/plain"}
    )
    assert headers == {
        "ETag": '"abc"',
        "Last-Modified": "Fri, 03 Feb 2006 16:45:09 GMT",
        "Content-Type": "text/plain",
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-cache",
        "x-amz-meta-color": "red",
        "x-amz-storage-class": "STANDARD_IA",
        "x-amz-tagging-count": "1",
        "x-amz-version-id": "v1",
    }
    with_sums = object_headers(PLAIN, version, with_checksums=True)
    assert with_sums["Content-Type"] == "binary/octet-stream"
    assert with_sums["x-amz-checksum-crc32"] == "AAAAAA=="
    assert "x-amz-version-id" not in with_sums
