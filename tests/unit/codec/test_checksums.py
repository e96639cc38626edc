"""gateway.codec.checksums against botocore's own implementations and known vectors."""

from __future__ import annotations

import base64
import hashlib
import random

import pytest
from botocore import httpchecksum

from gateway.codec.checksums import (
    ALGORITHMS,
    BodyHasher,
    ChecksumRequest,
    combine_crc,
    composite_checksum,
    decode_checksum,
    header_name,
    new_checksum,
    requested_checksum,
    verify_checksum,
    verify_content_md5,
    xml_name,
)
from gateway.errors import S3Error, S3ErrorCode

# What the AWS SDK computes for the same bytes (botocore/httpchecksum.py).
BOTOCORE = {
    "CRC32": httpchecksum.CrtCrc32Checksum,
    "CRC32C": httpchecksum.CrtCrc32cChecksum,
    "CRC64NVME": httpchecksum.CrtCrc64NvmeChecksum,
    "SHA1": httpchecksum.Sha1Checksum,
    "SHA256": httpchecksum.Sha256Checksum,
}

# Check values of the catalogued CRCs over b"123456789" (reveng CRC catalogue:
# CRC-32/ISO-HDLC, CRC-32/ISCSI, CRC-64/NVME) and FIPS 180 vectors for b"abc".
KNOWN = [
    ("CRC32", b"123456789", "cbf43926"),
    ("CRC32C", b"123456789", "e3069283"),
    ("CRC64NVME", b"123456789", "ae8b14860a799888"),
    ("SHA1", b"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("SHA256", b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("CRC32", b"", "00000000"),
    ("CRC64NVME", b"", "0000000000000000"),
]

RNG = random.Random(20240601)
PAYLOADS = [b"", b"a", b"Hello, World!", RNG.randbytes(1 << 16) + b"tail"]


@pytest.mark.parametrize(("algorithm", "data", "hex_digest"), KNOWN)
def test_known_vectors(algorithm: str, data: bytes, hex_digest: str) -> None:
    checksum = new_checksum(algorithm)
    checksum.update(data)
    assert checksum.digest().hex() == hex_digest
    assert checksum.b64() == base64.b64encode(bytes.fromhex(hex_digest)).decode()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("data", PAYLOADS, ids=len)
def test_matches_botocore(algorithm: str, data: bytes) -> None:
    ours = new_checksum(algorithm)
    theirs = BOTOCORE[algorithm]()
    view = memoryview(data)
    for start in range(0, len(data) + 1, 4099):  # uneven chunks, as memoryview slices
        ours.update(view[start : start + 4099])
    theirs.update(data)
    assert ours.b64() == theirs.b64digest()


def test_new_checksum_is_case_insensitive() -> None:
    checksum = new_checksum("crc32c")
    checksum.update(b"123456789")
    assert checksum.digest().hex() == "e3069283"


@pytest.mark.parametrize("algorithm", ["MD5", "CRC16", "", "XXHASH64"])
def test_new_checksum_unknown(algorithm: str) -> None:
    with pytest.raises(S3Error) as info:
        new_checksum(algorithm)
    assert info.value.code is S3ErrorCode.INVALID_REQUEST


@pytest.mark.parametrize(
    ("algorithm", "header", "element"),
    [
        ("CRC32", "x-amz-checksum-crc32", "ChecksumCRC32"),
        ("CRC64NVME", "x-amz-checksum-crc64nvme", "ChecksumCRC64NVME"),
        ("SHA256", "x-amz-checksum-sha256", "ChecksumSHA256"),
    ],
)
def test_names(algorithm: str, header: str, element: str) -> None:
    assert header_name(algorithm) == header
    assert xml_name(algorithm) == element


# -- requested_checksum ---------------------------------------------------------------------

CRC32_B64 = "y/Q5Jg=="  # CRC32 of b"123456789"
SHA256_B64 = base64.b64encode(hashlib.sha256(b"x").digest()).decode()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, ChecksumRequest(None, None, False)),
        ({"x-amz-checksum-crc32": CRC32_B64}, ChecksumRequest("CRC32", CRC32_B64, False)),
        ({"x-amz-checksum-sha256": SHA256_B64}, ChecksumRequest("SHA256", SHA256_B64, False)),
        (
            {"x-amz-checksum-crc32": CRC32_B64, "x-amz-sdk-checksum-algorithm": "CRC32"},
            ChecksumRequest("CRC32", CRC32_B64, False),
        ),
        (
            {"x-amz-trailer": "x-amz-checksum-crc32c", "content-encoding": "aws-chunked"},
            ChecksumRequest("CRC32C", None, True),
        ),
        (
            {
                "x-amz-trailer": "X-Amz-Checksum-CRC64NVME",
                "x-amz-sdk-checksum-algorithm": "crc64nvme",
            },
            ChecksumRequest("CRC64NVME", None, True),
        ),
        ({"x-amz-trailer": "x-amz-meta-other"}, ChecksumRequest(None, None, False)),
        ({"x-amz-sdk-checksum-algorithm": "SHA1"}, ChecksumRequest("SHA1", None, False)),
        ({"x-amz-checksum-algorithm": "crc32"}, ChecksumRequest("CRC32", None, False)),
        # other x-amz-checksum-* headers are not checksum values
        ({"x-amz-checksum-type": "FULL_OBJECT"}, ChecksumRequest(None, None, False)),
    ],
)
def test_requested_checksum(headers: dict[str, str], expected: ChecksumRequest) -> None:
    assert requested_checksum(headers) == expected


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            {"x-amz-checksum-crc32": CRC32_B64, "x-amz-checksum-sha256": SHA256_B64},
            "Expecting a single x-amz-checksum- header",
        ),
        (
            {"x-amz-checksum-crc32": CRC32_B64, "x-amz-trailer": "x-amz-checksum-crc32"},
            "Expecting a single x-amz-checksum- header",
        ),
        (
            {"x-amz-trailer": "x-amz-checksum-crc32, x-amz-checksum-sha1"},
            "Expecting a single x-amz-checksum- header",
        ),
        ({"x-amz-checksum-crc32": "not base64!"}, "Value for x-amz-checksum-crc32 header"),
        ({"x-amz-checksum-crc32": "AAAAAAA="}, "Value for x-amz-checksum-crc32 header"),
        ({"x-amz-checksum-sha1": CRC32_B64}, "Value for x-amz-checksum-sha1 header"),
        ({"x-amz-checksum-crc32": ""}, "Value for x-amz-checksum-crc32 header"),
        ({"x-amz-trailer": "x-amz-checksum-md5"}, "x-amz-trailer header is not supported"),
        ({"x-amz-sdk-checksum-algorithm": "MD5"}, "Checksum algorithm provided is unsupported"),
        (
            {"x-amz-checksum-crc32": CRC32_B64, "x-amz-sdk-checksum-algorithm": "SHA256"},
            "x-amz-sdk-checksum-algorithm header is invalid",
        ),
    ],
)
def test_requested_checksum_invalid(headers: dict[str, str], message: str) -> None:
    with pytest.raises(S3Error) as info:
        requested_checksum(headers)
    assert info.value.code is S3ErrorCode.INVALID_REQUEST
    assert message in info.value.message


def test_requested_checksum_case_insensitive_mapping() -> None:
    from multidict import CIMultiDict, CIMultiDictProxy

    headers = CIMultiDictProxy(CIMultiDict({"X-Amz-Checksum-CRC32": CRC32_B64}))
    assert requested_checksum(headers) == ChecksumRequest("CRC32", CRC32_B64, False)


@pytest.mark.parametrize(
    ("algorithm", "value", "ok"),
    [
        ("CRC32", CRC32_B64, True),
        ("crc32", CRC32_B64, True),
        ("CRC64NVME", CRC32_B64, False),
        ("CRC32", "y/Q5Jg", False),  # missing padding
        ("CRC32", "y/Q5Jg==\n", False),
    ],
)
def test_decode_checksum(algorithm: str, value: str, ok: bool) -> None:
    assert (decode_checksum(algorithm, value) is not None) is ok


def test_verify_checksum() -> None:
    verify_checksum("CRC32", CRC32_B64, CRC32_B64)
    with pytest.raises(S3Error) as info:
        verify_checksum("CRC32", CRC32_B64, "AAAAAA==")
    assert info.value.code is S3ErrorCode.BAD_DIGEST
    assert "CRC32" in info.value.message
    with pytest.raises(S3Error) as info:
        verify_checksum("CRC32", "bad", "AAAAAA==")
    assert info.value.code is S3ErrorCode.INVALID_REQUEST


# -- Content-MD5 ----------------------------------------------------------------------------

MD5 = hashlib.md5(b"hello").digest()


def test_verify_content_md5() -> None:
    verify_content_md5(None, MD5)
    verify_content_md5(base64.b64encode(MD5).decode(), MD5)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("!!!", S3ErrorCode.INVALID_DIGEST),
        ("", S3ErrorCode.INVALID_DIGEST),
        (base64.b64encode(MD5[:15]).decode(), S3ErrorCode.INVALID_DIGEST),
        (MD5.hex(), S3ErrorCode.INVALID_DIGEST),  # hex is not what RFC 1864 asks for
        (base64.b64encode(hashlib.md5(b"other").digest()).decode(), S3ErrorCode.BAD_DIGEST),
    ],
)
def test_verify_content_md5_invalid(header: str, code: S3ErrorCode) -> None:
    with pytest.raises(S3Error) as info:
        verify_content_md5(header, MD5)
    assert info.value.code is code


# -- BodyHasher -----------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [None, *ALGORITHMS])
@pytest.mark.parametrize("sha256", [False, True])
def test_body_hasher(algorithm: str | None, sha256: bool) -> None:
    data = PAYLOADS[-1]
    hasher = BodyHasher(algorithm, sha256=sha256)
    view = memoryview(data)
    hasher.update(view[:100])
    hasher.update(bytearray(view[100:5000]))
    hasher.update(view[5000:])
    assert hasher.size == len(data)
    assert hasher.md5_hex() == hashlib.md5(data).hexdigest()
    assert hasher.md5_b64() == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert hasher.md5_digest() == hashlib.md5(data).digest()
    assert hasher.sha256_hex() == (hashlib.sha256(data).hexdigest() if sha256 else None)
    if algorithm is None:
        assert hasher.checksum_b64() is None
    else:
        expected = BOTOCORE[algorithm]()
        expected.update(data)
        assert hasher.checksum_b64() == expected.b64digest()


def test_body_hasher_empty() -> None:
    hasher = BodyHasher("crc32", sha256=True)
    assert hasher.checksum_algorithm == "CRC32"
    assert hasher.size == 0
    assert hasher.md5_hex() == "d41d8cd98f00b204e9800998ecf8427e"
    assert hasher.checksum_b64() == "AAAAAA=="
    assert hasher.sha256_hex() == hashlib.sha256(b"").hexdigest()


# -- multipart ------------------------------------------------------------------------------


def _digest(algorithm: str, data: bytes) -> bytes:
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return checksum.digest()


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME"])
@pytest.mark.parametrize("sizes", [[], [0], [1], [5, 0, 7], [1000, 1, 65536, 3]])
def test_combine_crc_equals_crc_of_concatenation(algorithm: str, sizes: list[int]) -> None:
    parts = [RNG.randbytes(size) for size in sizes]
    combined = combine_crc(algorithm, [(_digest(algorithm, p), len(p)) for p in parts])
    assert combined == _digest(algorithm, b"".join(parts))


def test_combine_crc_rejects_sha() -> None:
    with pytest.raises(S3Error) as info:
        combine_crc("SHA256", [])
    assert info.value.code is S3ErrorCode.INVALID_REQUEST


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_composite_checksum(algorithm: str) -> None:
    parts = [b"part one", b"part two", b"3"]
    digests = [_digest(algorithm, p) for p in parts]
    expected = base64.b64encode(_digest(algorithm, b"".join(digests))).decode()
    assert composite_checksum(algorithm, digests) == f"{expected}-3"


# Fixed vectors: the catalogue check values of b"123456789" (see KNOWN) rebuilt from
# parts, which is how a FULL_OBJECT checksum is formed from the part CRCs.
@pytest.mark.parametrize(
    ("algorithm", "check"),
    [("CRC32", "cbf43926"), ("CRC32C", "e3069283"), ("CRC64NVME", "ae8b14860a799888")],
)
@pytest.mark.parametrize("split", [["123456789"], ["1", "2345678", "9"], ["", "12345", "6789"]])
def test_combine_crc_known_vectors(algorithm: str, check: str, split: list[str]) -> None:
    parts = [p.encode() for p in split]
    combined = combine_crc(algorithm, [(_digest(algorithm, p), len(p)) for p in parts])
    assert combined.hex() == check


def test_composite_checksum_known_vector() -> None:
    # SHA-256 COMPOSITE of parts b"abc" and b"def": sha256(sha256(b"abc") + sha256(b"def")),
    # with the FIPS 180 digest of b"abc" (KNOWN) as the first part's.
    first = bytes.fromhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    second = _digest("SHA256", b"def")
    assert first == _digest("SHA256", b"abc")
    expected = base64.b64encode(hashlib.sha256(first + second).digest()).decode()
    assert composite_checksum("SHA256", [first, second]) == f"{expected}-2"
    assert expected == "nATTAFe3VK8bLS1PVnV4LdYaWmWcNO5sKvR1JrZsr6Y="
