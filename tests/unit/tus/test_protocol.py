"""tus headers and rules (gateway/tus/protocol.py) and paths (gateway/tus/paths.py)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from gateway.tus.paths import TusTarget, is_tus_path, tus_target, upload_path
from gateway.tus.protocol import (
    MAX_SIZE,
    TusError,
    capability_headers,
    check_declared,
    check_offset,
    check_patch_type,
    content_type_of,
    cors_headers,
    http_date,
    parse_checksum,
    parse_length,
    parse_metadata,
    require_version,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def status_of(call: object, *args: object) -> int:
    with pytest.raises(TusError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.status


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (None, {}),
        ("", {}),
        (f"filename {b64('a b.txt')}", {"filename": "a b.txt"}),
        (f"filename {b64('x')},is_confidential", {"filename": "x", "is_confidential": ""}),
        (f" filetype {b64('image/png')} , name {b64('ü')}", {"filetype": "image/png", "name": "ü"}),
    ],
)
def test_parse_metadata(raw: str | None, parsed: dict[str, str]) -> None:
    assert parse_metadata(raw) == parsed


@pytest.mark.parametrize("raw", ["a b c", "a !!!", f"a {b64('x')},a {b64('y')}", "a\t b"])
def test_parse_metadata_malformed(raw: str) -> None:
    assert status_of(parse_metadata, raw) == 400


def test_content_type_from_metadata() -> None:
    assert content_type_of({"filetype": "image/png"}) == "image/png"
    assert content_type_of({"filename": "x"}) is None
    assert content_type_of({"filetype": "a\r\nb"}) is None


def test_version_is_required_and_must_be_1_0_0() -> None:
    require_version({"tus-resumable": "1.0.0"})
    assert status_of(require_version, {}) == 412
    assert status_of(require_version, {"tus-resumable": "0.2.2"}) == 412


def test_length() -> None:
    assert parse_length({"upload-length": "0"}) == 0
    assert parse_length({"upload-length": str(MAX_SIZE)}) == MAX_SIZE
    assert status_of(parse_length, {"upload-length": str(MAX_SIZE + 1)}) == 413
    assert status_of(parse_length, {"upload-length": "-1"}) == 400
    assert status_of(parse_length, {}) == 400
    assert status_of(parse_length, {"upload-defer-length": "1"}) == 400


def test_checksum() -> None:
    digest = hashlib.sha1(b"x").digest()
    assert parse_checksum(None) is None
    assert parse_checksum("sha1 " + base64.b64encode(digest).decode()) == ("sha1", digest)
    md5 = hashlib.md5(b"x").digest()
    assert parse_checksum("MD5 " + base64.b64encode(md5).decode()) == ("md5", md5)
    assert status_of(parse_checksum, "crc32 AAAAAA==") == 400
    assert status_of(parse_checksum, "sha1 not-base64") == 400
    assert status_of(parse_checksum, "sha256 " + base64.b64encode(digest).decode()) == 400


def test_offset_type_and_declared_length() -> None:
    check_offset({"upload-offset": "5"}, 5)
    assert status_of(check_offset, {"upload-offset": "4"}, 5) == 409
    assert status_of(check_offset, {}, 5) == 400
    check_patch_type({"content-type": "application/offset+octet-stream"})
    assert status_of(check_patch_type, {"content-type": "application/octet-stream"}) == 415
    check_declared({"content-length": "5"}, 5, 10)
    assert status_of(check_declared, {"content-length": "6"}, 5, 10) == 413


def test_capabilities_and_expiry_date() -> None:
    headers = capability_headers()
    assert headers["Tus-Version"] == "1.0.0"
    assert "expiration" in headers["Tus-Extension"].split(",")
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_cors_headers() -> None:
    assert cors_headers({}) == {}
    actual = cors_headers({"origin": "http://a"})
    assert actual["Access-Control-Allow-Origin"] == "http://a"
    assert "Upload-Offset" in actual["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Methods" not in actual
    preflight = cors_headers(
        {"origin": "http://a", "access-control-request-method": "PATCH",
         "access-control-request-headers": "upload-offset"}
    )  # fmt: skip
    assert "PATCH" in preflight["Access-Control-Allow-Methods"]
    assert preflight["Access-Control-Allow-Headers"] == "upload-offset"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/_kv/tus/", TusTarget()),
        ("/_kv/tus/abc", TusTarget(token="abc")),
        ("/_kv/tus/bkt/a%20b/c", TusTarget(bucket="bkt", key="a b/c")),
        ("/_kv/tus/bkt/", TusTarget(bucket="bkt")),
    ],
)
def test_targets(path: str, target: TusTarget) -> None:
    assert tus_target(path) == target


def test_tus_paths_are_not_bucket_paths() -> None:
    assert is_tus_path("h", "/_kv/tus/x", None)
    assert is_tus_path("h", "/_kv/tus", None)
    assert not is_tus_path("h", "/tus/x", None)
    assert not is_tus_path("b.s3.local", "/_kv/tus/x", "s3.local")  # a key of bucket b
    assert upload_path("T") == "/_kv/tus/T"
