"""Object checksums: MD5 for the ETag and the flexible x-amz-checksum-* algorithms.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
Wire form of every checksum: the big-endian digest, base64-encoded. The CRCs come from
awscrt (C, the same code the AWS SDKs use); SHA-1/SHA-256/MD5 from hashlib. Both accept
a memoryview, so hashing never copies the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from awscrt import checksums as crt

from gateway.errors import S3Error, S3ErrorCode
from gateway.values import quick_init

ALGORITHMS: Final[tuple[str, ...]] = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
CRC_ALGORITHMS: Final[tuple[str, ...]] = ("CRC32", "CRC32C", "CRC64NVME")

DIGEST_SIZES: Final[Mapping[str, int]] = {
    "CRC32": 4,
    "CRC32C": 4,
    "CRC64NVME": 8,
    "SHA1": 20,
    "SHA256": 32,
}

Buffer = bytes | bytearray | memoryview


class Checksum(Protocol):
    """A running checksum over a byte stream."""

    def update(self, data: Buffer) -> None: ...

    def digest(self) -> bytes: ...

    def b64(self) -> str: ...


_CrcFunction = Callable[[Buffer, int], int]
_CRC_FUNCTIONS: Final[Mapping[str, _CrcFunction]] = {
    "CRC32": crt.crc32,
    "CRC32C": crt.crc32c,
    "CRC64NVME": crt.crc64nvme,
}
_CRC_COMBINE: Final[Mapping[str, Callable[[int, int, int], int]]] = {
    "CRC32": crt.combine_crc32,
    "CRC32C": crt.combine_crc32c,
    "CRC64NVME": crt.combine_crc64nvme,
}


class _Crc:
    __slots__ = ("_function", "_size", "_value")

    def __init__(self, algorithm: str) -> None:
        self._function = _CRC_FUNCTIONS[algorithm]
        self._size = DIGEST_SIZES[algorithm]
        self._value = 0

    def update(self, data: Buffer) -> None:
        self._value = self._function(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, "big")

    def b64(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


class _Hash:
    __slots__ = ("_hash",)

    def __init__(self, name: str) -> None:
        self._hash = hashlib.new(name, usedforsecurity=False)

    def update(self, data: Buffer) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()

    def b64(self) -> str:
        return base64.b64encode(self._hash.digest()).decode("ascii")


def _unsupported(algorithm: str) -> S3Error:
    return S3Error(
        S3ErrorCode.INVALID_REQUEST,
        "Checksum algorithm provided is unsupported. Please try again with any of the valid "
        f"types: [{', '.join(ALGORITHMS)}]",
        ArgumentValue=algorithm,
    )


def new_checksum(algorithm: str) -> Checksum:
    """A fresh checksum for an algorithm name of ALGORITHMS (any case)."""
    name = algorithm.upper()
    if name in _CRC_FUNCTIONS:
        return _Crc(name)
    if name == "SHA1":
        return _Hash("sha1")
    if name == "SHA256":
        return _Hash("sha256")
    raise _unsupported(algorithm)


def header_name(algorithm: str) -> str:
    """The header carrying an algorithm's value: "CRC32" -> "x-amz-checksum-crc32"."""
    return f"x-amz-checksum-{algorithm.lower()}"


def xml_name(algorithm: str) -> str:
    """The XML element carrying an algorithm's value: "CRC32" -> "ChecksumCRC32"."""
    return f"Checksum{algorithm.upper()}"


# -- which checksum a request asks for ------------------------------------------------------


@quick_init
@dataclass(frozen=True)
class ChecksumRequest:
    """The checksum a write asks for.

    algorithm None: none asked (only the MD5 ETag is computed). expected: the base64
    value to verify, when it came as a header; None when it comes in the trailer
    (in_trailer) or when the client only asked S3 to compute and store it.
    """

    algorithm: str | None = None
    expected: str | None = None
    in_trailer: bool = False


_ALGORITHM_HEADERS = tuple((a, header_name(a)) for a in ALGORITHMS)  # asked of every write


def requested_checksum(headers: Mapping[str, str]) -> ChecksumRequest:
    """Read x-amz-checksum-<algo>, x-amz-trailer and x-amz-sdk-checksum-algorithm.

    https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#API_PutObject_RequestSyntax
    and https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html.
    CreateMultipartUpload names the algorithm in x-amz-checksum-algorithm.
    """
    given = [a for a, name in _ALGORITHM_HEADERS if headers.get(name) is not None]
    trailer = headers.get("x-amz-trailer")
    trailer_algorithm = _trailer_algorithm(trailer) if trailer is not None else None
    if len(given) + (trailer_algorithm is not None) > 1:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    declared = headers.get("x-amz-sdk-checksum-algorithm") or headers.get(
        "x-amz-checksum-algorithm"
    )
    declared_algorithm = None
    if declared is not None:
        declared_algorithm = declared.strip().upper()
        if declared_algorithm not in ALGORITHMS:
            raise _unsupported(declared)
    if given:
        algorithm = given[0]
        value = headers[header_name(algorithm)].strip()
        _check_value(algorithm, value)
        request = ChecksumRequest(algorithm, value, in_trailer=False)
    elif trailer_algorithm is not None:
        request = ChecksumRequest(trailer_algorithm, None, in_trailer=True)
    else:
        return ChecksumRequest(declared_algorithm)
    if declared_algorithm is not None and declared_algorithm != request.algorithm:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "Value for x-amz-sdk-checksum-algorithm header is invalid.",
        )
    return request


def _trailer_algorithm(trailer: str) -> str | None:
    """The algorithm of an x-amz-trailer naming one x-amz-checksum-* trailer."""
    names = [n.strip().lower() for n in trailer.split(",") if n.strip()]
    checksums = [n for n in names if n.startswith("x-amz-checksum-")]
    if not checksums:
        return None
    if len(checksums) > 1:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    algorithm = checksums[0].removeprefix("x-amz-checksum-").upper()
    if algorithm not in ALGORITHMS:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "The value specified in the x-amz-trailer header is not supported",
        )
    return algorithm


def _check_value(algorithm: str, value: str) -> None:
    """A header or trailer value must be base64 of exactly the algorithm's digest size."""
    if decode_checksum(algorithm, value) is None:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            f"Value for {header_name(algorithm)} header is invalid.",
        )


def decode_checksum(algorithm: str, value: str) -> bytes | None:
    """The raw digest of a base64 checksum value; None if malformed or the wrong size."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == DIGEST_SIZES[algorithm.upper()] else None


def verify_checksum(algorithm: str, expected: str, actual: str) -> None:
    """A received x-amz-checksum-* value against the computed one (both base64).

    Validates the expected value's form too, for trailers that arrive after the body.
    """
    _check_value(algorithm, expected)
    if expected != actual:
        raise S3Error(
            S3ErrorCode.BAD_DIGEST,
            f"The {algorithm.upper()} you specified did not match the calculated checksum.",
        )


def verify_content_md5(header: str | None, md5_digest: bytes) -> None:
    """Content-MD5 (RFC 1864, base64 of the 16-byte digest) against the body's MD5."""
    if header is None:
        return
    try:
        expected = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        expected = b""
    if len(expected) != 16:
        error = S3Error(S3ErrorCode.INVALID_DIGEST)
        error.fields["Content-MD5"] = header  # not a Python identifier
        raise error
    if expected != md5_digest:
        raise S3Error(
            S3ErrorCode.BAD_DIGEST,
            ExpectedDigest=header.strip(),
            CalculatedDigest=base64.b64encode(md5_digest).decode("ascii"),
        )


# -- the one pass over a body ---------------------------------------------------------------


class BodyHasher:
    """MD5 (the ETag), the requested checksum and, for signed payloads, SHA-256 in one pass.

    update() hands the same buffer to each hash; nothing is copied. With md5=False the
    MD5 comes from whoever stored the same bytes (given_md5: an S3 server's ETag).
    """

    __slots__ = ("_checksum", "_given_md5", "_md5", "_sha256", "checksum_algorithm", "size")

    def __init__(self, checksum_algorithm: str | None, *, sha256: bool, md5: bool = True) -> None:
        self.checksum_algorithm = (
            checksum_algorithm.upper() if checksum_algorithm is not None else None
        )
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None
        self._given_md5: bytes | None = None
        self._checksum = (
            new_checksum(checksum_algorithm) if checksum_algorithm is not None else None
        )
        self._sha256 = hashlib.sha256() if sha256 else None
        self.size = 0

    @property
    def hashes(self) -> bool:
        """Whether update() has anything to hash."""
        return self._md5 is not None or self._checksum is not None or self._sha256 is not None

    def update(self, data: Buffer) -> None:
        if self._md5 is not None:
            self._md5.update(data)
        if self._checksum is not None:
            self._checksum.update(data)
        if self._sha256 is not None:
            self._sha256.update(data)
        self.size += data.nbytes if isinstance(data, memoryview) else len(data)

    def given_md5(self, digest: bytes) -> None:
        """The bytes' MD5, computed by someone else (for a hasher made with md5=False)."""
        self._given_md5 = digest

    def md5_digest(self) -> bytes:
        if self._md5 is not None:
            return self._md5.digest()
        if self._given_md5 is None:
            raise RuntimeError("the MD5 was neither computed nor given")
        return self._given_md5

    def md5_hex(self) -> str:
        return self.md5_digest().hex()

    def md5_b64(self) -> str:
        return base64.b64encode(self.md5_digest()).decode("ascii")

    def checksum_b64(self) -> str | None:
        return self._checksum.b64() if self._checksum is not None else None

    def sha256_hex(self) -> str | None:
        return self._sha256.hexdigest() if self._sha256 is not None else None


# -- multipart ------------------------------------------------------------------------------


def combine_crc(algorithm: str, crcs_with_lengths: list[tuple[bytes, int]]) -> bytes:
    """The FULL_OBJECT CRC of concatenated parts from each part's (CRC, byte length).

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html#Full-object-checksums
    Uses the zlib crc_combine construction (awscrt's combine_crc*), no data re-read.
    """
    name = algorithm.upper()
    combine = _CRC_COMBINE.get(name)
    if combine is None:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            f"The FULL_OBJECT checksum type cannot be used with the {name} algorithm.",
        )
    value = 0
    for crc, length in crcs_with_lengths:
        value = combine(value, int.from_bytes(crc, "big"), length)
    return value.to_bytes(DIGEST_SIZES[name], "big")


def composite_checksum(algorithm: str, part_digests: list[bytes]) -> str:
    """The COMPOSITE checksum of a multipart object: checksum of the raw part digests, "-N".

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html#large-object-checksums
    """
    checksum = new_checksum(algorithm)
    for digest in part_digests:
        checksum.update(digest)
    return f"{checksum.b64()}-{len(part_digests)}"
