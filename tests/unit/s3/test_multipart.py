"""gateway.s3.multipart: part rules, the Complete request checks, ETags and checksums by table."""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Mapping

import pytest

from gateway.codec.checksums import new_checksum
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Part, Upload
from gateway.s3.multipart import (
    MIN_PART_SIZE,
    assemble,
    check_part_order,
    choose_parts,
    multipart_etag,
    parse_count,
    parse_part_marker,
    parse_part_number,
    part_checksum_algorithm,
    parts_digest,
    upload_checksum,
    verify_complete_headers,
)
from gateway.xml.models import CompletedPart

MIB = 1024 * 1024
RNG = random.Random(3)


def _b64(algorithm: str, data: bytes) -> str:
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return checksum.b64()


def _raw(algorithm: str, data: bytes) -> bytes:
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return checksum.digest()


def _upload(algorithm: str | None = None, kind: str | None = None) -> Upload:
    return Upload("bkt", "key", "u1", 0.0, checksum_algorithm=algorithm, checksum_type=kind)


def _parts(datas: list[bytes], algorithm: str | None = None) -> dict[int, Part]:
    return {
        n: Part(
            number=n,
            blob_id=f"blob{n}",
            size=len(d),
            etag=hashlib.md5(d).hexdigest(),
            last_modified=0.0,
            checksums={algorithm: _b64(algorithm, d)} if algorithm else {},
        )
        for n, d in enumerate(datas, start=1)
    }


def _listed(parts: Mapping[int, Part], *, with_checksums: bool = True) -> list[CompletedPart]:
    return [
        CompletedPart(p.number, p.etag, dict(p.checksums) if with_checksums else {})
        for p in parts.values()
    ]


def _code(info: pytest.ExceptionInfo[S3Error]) -> S3ErrorCode:
    return info.value.code


# -- request parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", 1), ("10000", 10000), ("0042", 42), (" 7 ", 7)],
)
def test_parse_part_number(raw: str, expected: int) -> None:
    assert parse_part_number(raw) == expected


# "²" and "1٣" pass str.isdigit() but not int(): a 500 until fuzzing found it.
@pytest.mark.parametrize(
    "raw", [None, "", "0", "10001", "-1", "1.5", "abc", "9" * 5000, "\u00b2", "1\u0663"]
)
def test_parse_part_number_invalid(raw: str | None) -> None:
    with pytest.raises(S3Error) as info:
        parse_part_number(raw)
    assert _code(info) is S3ErrorCode.INVALID_ARGUMENT
    assert info.value.fields["ArgumentName"] == "partNumber"


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 1000), ("0", 0), ("7", 7), ("5000", 1000), ("9" * 50, 1000)]
)
def test_parse_count(raw: str | None, expected: int) -> None:
    assert parse_count(raw, "max-parts") == expected


@pytest.mark.parametrize("raw", ["-1", "x", "1e3"])
def test_parse_count_invalid(raw: str) -> None:
    with pytest.raises(S3Error) as info:
        parse_count(raw, "max-parts")
    assert _code(info) is S3ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize(("raw", "expected"), [(None, 0), ("", 0), ("3", 3), ("20000", 10000)])
def test_parse_part_marker(raw: str | None, expected: int) -> None:
    assert parse_part_marker(raw) == expected


# -- CreateMultipartUpload checksum settings --------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, (None, None)),
        ({"x-amz-checksum-algorithm": "crc32"}, ("CRC32", "COMPOSITE")),
        ({"x-amz-checksum-algorithm": "CRC32C"}, ("CRC32C", "COMPOSITE")),
        ({"x-amz-checksum-algorithm": "SHA256"}, ("SHA256", "COMPOSITE")),
        ({"x-amz-checksum-algorithm": "CRC64NVME"}, ("CRC64NVME", "FULL_OBJECT")),
        (
            {"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type": "FULL_OBJECT"},
            ("CRC32", "FULL_OBJECT"),
        ),
        (
            {"x-amz-checksum-algorithm": "SHA1", "x-amz-checksum-type": "composite"},
            ("SHA1", "COMPOSITE"),
        ),
    ],
)
def test_upload_checksum(headers: dict[str, str], expected: tuple[str, str]) -> None:
    assert upload_checksum(headers) == expected


@pytest.mark.parametrize(
    "headers",
    [
        {"x-amz-checksum-algorithm": "MD5"},
        {"x-amz-checksum-type": "COMPOSITE"},
        {"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type": "BOTH"},
        {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-type": "FULL_OBJECT"},
        {"x-amz-checksum-algorithm": "SHA1", "x-amz-checksum-type": "FULL_OBJECT"},
        {"x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "COMPOSITE"},
    ],
)
def test_upload_checksum_invalid(headers: dict[str, str]) -> None:
    with pytest.raises(S3Error) as info:
        upload_checksum(headers)
    assert _code(info) is S3ErrorCode.INVALID_REQUEST


def test_part_checksum_algorithm() -> None:
    assert part_checksum_algorithm(_upload(), None) is None
    assert part_checksum_algorithm(_upload(), "SHA1") == "SHA1"  # verified, not required
    assert part_checksum_algorithm(_upload("CRC32", "COMPOSITE"), None) == "CRC32"
    assert part_checksum_algorithm(_upload("CRC32", "COMPOSITE"), "CRC32") == "CRC32"
    with pytest.raises(S3Error) as info:
        part_checksum_algorithm(_upload("CRC32", "COMPOSITE"), "SHA256")
    assert _code(info) is S3ErrorCode.INVALID_REQUEST
    assert "expected checksum Type: crc32, actual checksum Type: sha256" in info.value.message


# -- ETag and checksums of the object ---------------------------------------------------------


def test_multipart_etag_known_value() -> None:
    # Two parts "a" * 5 MiB and "b": md5(md5(p1) || md5(p2)) + "-2".
    p1, p2 = b"a" * (5 * MIB), b"b"
    expected = hashlib.md5(hashlib.md5(p1).digest() + hashlib.md5(p2).digest()).hexdigest()
    etags = [hashlib.md5(p1).hexdigest(), hashlib.md5(p2).hexdigest()]
    assert multipart_etag(etags) == f"{expected}-2"
    assert multipart_etag([hashlib.md5(b"").hexdigest()]) == (
        hashlib.md5(hashlib.md5(b"").digest()).hexdigest() + "-1"
    )


DATAS = [RNG.randbytes(MIN_PART_SIZE), RNG.randbytes(MIN_PART_SIZE + 3), RNG.randbytes(1000)]


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_assemble_composite(algorithm: str) -> None:
    parts = _parts(DATAS, algorithm)
    result = assemble(_upload(algorithm, "COMPOSITE"), _listed(parts), parts)
    inner = b"".join(_raw(algorithm, d) for d in DATAS)
    assert result.checksums == {algorithm: f"{_b64(algorithm, inner)}-3"}
    assert result.checksum_type == "COMPOSITE"
    assert result.size == sum(len(d) for d in DATAS)
    assert result.etag == multipart_etag([hashlib.md5(d).hexdigest() for d in DATAS])
    assert [(s.part_number, s.blob_id, s.size) for s in result.segments] == [
        (1, "blob1", len(DATAS[0])),
        (2, "blob2", len(DATAS[1])),
        (3, "blob3", len(DATAS[2])),
    ]
    assert result.segments[0].etag == parts[1].etag
    assert result.segments[0].checksums == parts[1].checksums


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME"])
def test_assemble_full_object_is_crc_of_whole_object(algorithm: str) -> None:
    parts = _parts(DATAS, algorithm)
    # FULL_OBJECT uploads may list parts without their checksums.
    listed = _listed(parts, with_checksums=False)
    result = assemble(_upload(algorithm, "FULL_OBJECT"), listed, parts)
    assert result.checksums == {algorithm: _b64(algorithm, b"".join(DATAS))}
    assert result.checksum_type == "FULL_OBJECT"


def test_assemble_without_checksum_and_subset_of_parts() -> None:
    parts = _parts(DATAS)
    listed = [CompletedPart(1, parts[1].etag), CompletedPart(3, parts[3].etag)]
    result = assemble(_upload(), listed, parts)
    assert result.checksums == {}
    assert result.checksum_type is None
    assert [s.part_number for s in result.segments] == [1, 3]
    assert result.parts_digest == parts_digest(listed)
    assert result.parts_digest != parts_digest(_listed(parts))


# -- Complete request rules -------------------------------------------------------------------

SMALL = [b"x" * 100, b"y" * 100]


@pytest.mark.parametrize(
    ("upload", "datas", "listed", "code"),
    [
        # unknown part number
        (_upload(), DATAS, [CompletedPart(4, "0" * 32)], S3ErrorCode.INVALID_PART),
        # ETag that is not the part's
        (_upload(), DATAS, [CompletedPart(1, "0" * 32)], S3ErrorCode.INVALID_PART),
        # descending, repeated
        (_upload(), DATAS, "reversed", S3ErrorCode.INVALID_PART_ORDER),
        (_upload(), DATAS, "repeated", S3ErrorCode.INVALID_PART_ORDER),
        # with checksums, numbers must be consecutive from 1
        (_upload("CRC32", "COMPOSITE"), DATAS, "gap", S3ErrorCode.INVALID_PART_ORDER),
        # a part below 5 MiB that is not the last
        (_upload(), SMALL, "all", S3ErrorCode.ENTITY_TOO_SMALL),
        # a COMPOSITE upload's part listed without its checksum
        (_upload("SHA256", "COMPOSITE"), DATAS, "bare", S3ErrorCode.INVALID_REQUEST),
        # a part checksum that does not match
        (_upload("CRC32", "COMPOSITE"), DATAS, "bad-checksum", S3ErrorCode.INVALID_PART),
    ],
)
def test_assemble_refuses(
    upload: Upload, datas: list[bytes], listed: object, code: S3ErrorCode
) -> None:
    parts = _parts(datas, upload.checksum_algorithm)
    every = _listed(parts)
    if listed == "reversed":
        listed = every[::-1]
    elif listed == "repeated":
        listed = [every[0], every[0], every[1]]
    elif listed == "gap":
        listed = [every[0], every[2]]
    elif listed == "all":
        listed = every
    elif listed == "bare":
        listed = _listed(parts, with_checksums=False)
    elif listed == "bad-checksum":
        listed = [every[0], CompletedPart(2, every[1].etag, {"CRC32": "AAAAAA=="}), every[2]]
    assert isinstance(listed, list)
    with pytest.raises(S3Error) as info:
        assemble(upload, listed, parts)
    assert _code(info) is code


def test_choose_parts_takes_the_named_candidate() -> None:
    def part(number: int, etag: str) -> Part:
        return Part(number, f"blob-{number}-{etag}", 1, etag, 0.0)

    # Candidates as list_part_candidates gives them: by number, latest-begun first.
    candidates = [part(1, "b"), part(1, "a"), part(2, "d"), part(2, "c"), part(3, "e")]
    listed = [CompletedPart(1, "a"), CompletedPart(2, "d"), CompletedPart(4, "f")]
    chosen = choose_parts(listed, candidates)
    assert {n: p.etag for n, p in chosen.items()} == {1: "a", 2: "d", 3: "e"}
    # An ETag no candidate has: the latest, which assemble refuses as InvalidPart.
    listed = [CompletedPart(1, "zz")]
    assert choose_parts(listed, candidates)[1].etag == "b"
    upload = Upload("b", "k", "u", 0.0, owner="o")
    with pytest.raises(S3Error) as info:
        assemble(upload, listed, choose_parts(listed, candidates))
    assert info.value.code is S3ErrorCode.INVALID_PART


def test_entity_too_small_fields() -> None:
    parts = _parts(SMALL)
    with pytest.raises(S3Error) as info:
        assemble(_upload(), _listed(parts), parts)
    assert info.value.fields == {
        "ProposedSize": "100",
        "MinSizeAllowed": str(MIN_PART_SIZE),
        "PartNumber": "1",
        "ETag": parts[1].etag,
    }


def test_small_last_part_and_single_small_part_are_fine() -> None:
    parts = _parts([b"only"])
    assert assemble(_upload(), _listed(parts), parts).size == 4


def test_check_part_order_table() -> None:
    check_part_order([CompletedPart(2, ""), CompletedPart(9, "")], consecutive=False)
    check_part_order([CompletedPart(1, ""), CompletedPart(2, "")], consecutive=True)
    with pytest.raises(S3Error):
        check_part_order([CompletedPart(2, ""), CompletedPart(3, "")], consecutive=True)


def test_verify_complete_headers() -> None:
    upload = _upload("CRC32", "FULL_OBJECT")
    parts = _parts(DATAS, "CRC32")
    result = assemble(upload, _listed(parts), parts)
    whole = _b64("CRC32", b"".join(DATAS))
    good = {
        "x-amz-checksum-type": "FULL_OBJECT",
        "x-amz-checksum-crc32": whole,
        "x-amz-mp-object-size": str(result.size),
    }
    verify_complete_headers(good, upload, result)
    verify_complete_headers({}, upload, result)
    for bad, code in [
        ({"x-amz-checksum-type": "COMPOSITE"}, S3ErrorCode.BAD_DIGEST),
        ({"x-amz-checksum-crc32": "AAAAAA=="}, S3ErrorCode.BAD_DIGEST),
        ({"x-amz-checksum-sha256": whole}, S3ErrorCode.BAD_DIGEST),
        ({"x-amz-mp-object-size": "1"}, S3ErrorCode.INVALID_REQUEST),
    ]:
        with pytest.raises(S3Error) as info:
            verify_complete_headers(bad, upload, result)
        assert _code(info) is code, bad


def test_composite_checksum_matches_botocore_style_value() -> None:
    # What an SDK computes client-side for a composite CRC32: base64(crc32(crc1 || crc2))-2.
    parts = _parts(DATAS[:2], "CRC32")
    result = assemble(_upload("CRC32", "COMPOSITE"), _listed(parts), parts)
    raw = b"".join(base64.b64decode(p.checksums["CRC32"]) for p in parts.values())
    assert result.checksums["CRC32"] == _b64("CRC32", raw) + "-2"
