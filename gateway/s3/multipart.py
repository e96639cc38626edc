"""Pure multipart-upload rules: part numbers and sizes, the checksum settings of an upload,
and from a Complete request's part list to the object's segments, ETag and checksums.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html (limits: parts 1-10,000,
5 MiB minimum except the last part, 5 GiB maximum per part),
https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html and
https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
(COMPOSITE and FULL_OBJECT checksums of multipart objects).

The ETag of a multipart object is the MD5 of the concatenated binary MD5s of its parts,
then "-" and the number of parts. A COMPOSITE checksum is the checksum of the concatenated
binary part checksums, then "-N"; a FULL_OBJECT checksum is the CRC of the whole object,
combined from the part CRCs and lengths without reading any data.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.codec.checksums import (
    ALGORITHMS,
    CRC_ALGORITHMS,
    combine_crc,
    composite_checksum,
    decode_checksum,
    header_name,
)
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import Part, Segment, Upload
from gateway.xml.models import CompletedPart

MIN_PART_NUMBER = 1
MAX_PART_NUMBER = 10_000
MIN_PART_SIZE = 5 * 1024**2
MAX_PART_SIZE = 5 * 1024**3
MAX_LISTED = 1000  # ListParts max-parts, ListMultipartUploads max-uploads cap
CHECKSUM_TYPES = ("COMPOSITE", "FULL_OBJECT")


# -- request parameters ---------------------------------------------------------------------


def _digits(value: str) -> int | None:
    """A decimal integer, saturated at 10**18 (no int() of a thousand-digit header)."""
    # ASCII only: "²".isdigit() is true as well, and int() refuses it.
    if not (value.isascii() and value.isdigit()):
        return None
    significant = value.lstrip("0")
    return int(significant or "0") if len(significant) <= 18 else 10**18


def parse_part_number(raw: str | None) -> int:
    """The partNumber query parameter of UploadPart / UploadPartCopy (InvalidArgument)."""
    number = _digits((raw or "").strip())
    if number is None or not MIN_PART_NUMBER <= number <= MAX_PART_NUMBER:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=raw or "",
        )
    return number


def parse_count(raw: str | None, name: str, *, default: int = MAX_LISTED) -> int:
    """max-parts / max-uploads: a non-negative integer, capped at 1000 as S3 does."""
    if raw is None:
        return default
    value = _digits(raw.strip())
    if value is None:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            f"Provided {name} not an integer or within integer range",
            ArgumentName=name,
            ArgumentValue=raw,
        )
    return min(value, MAX_LISTED)


def parse_part_marker(raw: str | None, name: str = "part-number-marker") -> int:
    if raw is None or not raw.strip():
        return 0
    value = _digits(raw.strip())
    if value is None:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            f"Provided {name} not an integer or within integer range",
            ArgumentName=name,
            ArgumentValue=raw,
        )
    return min(value, MAX_PART_NUMBER)


# -- CreateMultipartUpload ------------------------------------------------------------------


def upload_checksum(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(algorithm, type) from x-amz-checksum-algorithm and x-amz-checksum-type.

    The type defaults to FULL_OBJECT for CRC64NVME (its only type) and to COMPOSITE for
    the others; SHA-1 and SHA-256 cannot be combined, so they are COMPOSITE only.
    """
    raw_algorithm = headers.get("x-amz-checksum-algorithm")
    raw_type = headers.get("x-amz-checksum-type")
    algorithm = raw_algorithm.strip().upper() if raw_algorithm else None
    kind = raw_type.strip().upper() if raw_type else None
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "Checksum algorithm provided is unsupported. Please try again with any of the "
            f"valid types: [{', '.join(ALGORITHMS)}]",
        )
    if kind is not None and kind not in CHECKSUM_TYPES:
        raise S3Error(S3ErrorCode.INVALID_REQUEST, "Value for x-amz-checksum-type is invalid.")
    if algorithm is None:
        if kind is not None:
            raise S3Error(
                S3ErrorCode.INVALID_REQUEST,
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header.",
            )
        return None, None
    if kind is None:
        kind = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
    if kind == "FULL_OBJECT" and algorithm not in CRC_ALGORITHMS:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            f"The FULL_OBJECT checksum type cannot be used with the {algorithm.lower()} "
            "checksum algorithm.",
        )
    if kind == "COMPOSITE" and algorithm == "CRC64NVME":
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.",
        )
    return algorithm, kind


def part_checksum_algorithm(upload: Upload, requested: str | None) -> str | None:
    """The checksum an UploadPart computes: the upload's; a part may not send another."""
    if upload.checksum_algorithm is None:
        return requested
    if requested is not None and requested != upload.checksum_algorithm:
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            "Checksum Type mismatch occurred, expected checksum Type: "
            f"{upload.checksum_algorithm.lower()}, actual checksum Type: {requested.lower()}",
        )
    return upload.checksum_algorithm


# -- CompleteMultipartUpload ----------------------------------------------------------------


@dataclass(frozen=True)
class Assembly:
    """What a valid Complete request makes: the new version's content fields."""

    segments: tuple[Segment, ...]
    size: int
    etag: str
    checksums: Mapping[str, str]
    checksum_type: str | None
    parts_digest: str


def multipart_etag(part_etags: Sequence[str]) -> str:
    """MD5 of the concatenated binary part MD5s, then "-N"."""
    md5 = hashlib.md5(usedforsecurity=False)
    for etag in part_etags:
        md5.update(bytes.fromhex(etag))
    return f"{md5.hexdigest()}-{len(part_etags)}"


def parts_digest(listed: Sequence[CompletedPart]) -> str:
    """A fingerprint of a Complete request's part list (to recognise a retried Complete)."""
    text = "\n".join(f"{p.part_number}:{p.etag}" for p in listed)
    return hashlib.sha256(text.encode()).hexdigest()


def check_part_order(listed: Sequence[CompletedPart], *, consecutive: bool) -> None:
    """Part numbers strictly ascending (InvalidPartOrder); with checksums, S3 also wants
    them consecutive from 1 (API_CompletedPart.html)."""
    previous = 0
    for part in listed:
        if part.part_number <= previous or (consecutive and part.part_number != previous + 1):
            raise S3Error(S3ErrorCode.INVALID_PART_ORDER)
        previous = part.part_number


def _invalid_part(upload: Upload, listed: CompletedPart) -> S3Error:
    return S3Error(
        S3ErrorCode.INVALID_PART,
        UploadId=upload.upload_id,
        PartNumber=str(listed.part_number),
        ETag=listed.etag,
    )


def _object_checksum(upload: Upload, parts: Sequence[Part]) -> dict[str, str]:
    algorithm = upload.checksum_algorithm
    if algorithm is None:
        return {}
    digests = []
    for part in parts:
        digest = decode_checksum(algorithm, part.checksums.get(algorithm, ""))
        if digest is None:  # every part of such an upload was hashed with the algorithm
            raise S3Error(
                S3ErrorCode.INTERNAL_ERROR, f"part {part.number} has no {algorithm} checksum"
            )
        digests.append(digest)
    if upload.checksum_type == "FULL_OBJECT":
        crc = combine_crc(algorithm, [(d, p.size) for d, p in zip(digests, parts, strict=True)])
        return {algorithm: base64.b64encode(crc).decode("ascii")}
    return {algorithm: composite_checksum(algorithm, digests)}


def choose_parts(listed: Sequence[CompletedPart], candidates: Sequence[Part]) -> dict[int, Part]:
    """Of each part number's candidates (latest-begun first, MetaStore.list_part_candidates),
    the one whose ETag the Complete request names, else the latest (which assemble then
    refuses as InvalidPart when the request lists its number). S3 completes with the part
    the request names even when another upload of that number finished after it."""
    named = {item.part_number: item.etag for item in listed}
    chosen: dict[int, Part] = {}
    for part in candidates:
        have = chosen.get(part.number)
        wanted = named.get(part.number)
        if have is None or (have.etag != wanted and part.etag == wanted):
            chosen[part.number] = part
    return chosen


def assemble(
    upload: Upload, listed: Sequence[CompletedPart], stored: Mapping[int, Part]
) -> Assembly:
    """Check a Complete request's parts against the uploaded ones; build the object.

    InvalidPartOrder, InvalidPart (unknown part, ETag or checksum mismatch), InvalidRequest
    (a COMPOSITE upload's part listed without its checksum), EntityTooSmall (a part other
    than the last below 5 MiB), as S3 checks them.
    """
    algorithm = upload.checksum_algorithm
    check_part_order(listed, consecutive=algorithm is not None)
    chosen: list[Part] = []
    for item in listed:
        part = stored.get(item.part_number)
        if part is None or part.etag != item.etag:
            raise _invalid_part(upload, item)
        for name, value in item.checksums.items():
            have = part.checksums.get(name)
            if have is not None and have != value:
                raise _invalid_part(upload, item)
        if (
            algorithm is not None
            and upload.checksum_type == "COMPOSITE"
            and algorithm not in item.checksums
        ):
            raise S3Error(
                S3ErrorCode.INVALID_REQUEST,
                f"The upload was created using a {algorithm.lower()} checksum. The complete "
                "request must include the checksum for each part. It was missing for part "
                f"{item.part_number} in the request.",
            )
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise S3Error(
                S3ErrorCode.ENTITY_TOO_SMALL,
                ProposedSize=str(part.size),
                MinSizeAllowed=str(MIN_PART_SIZE),
                PartNumber=str(part.number),
                ETag=part.etag,
            )
    return Assembly(
        segments=tuple(
            Segment(
                p.blob_id,
                p.size,
                part_number=p.number,
                etag=p.etag,
                checksums=p.checksums,
                codec=p.codec,
            )
            for p in chosen
        ),
        size=sum(p.size for p in chosen),
        etag=multipart_etag([p.etag for p in chosen]),
        checksums=_object_checksum(upload, chosen),
        checksum_type=upload.checksum_type,
        parts_digest=parts_digest(listed),
    )


def verify_complete_headers(headers: Mapping[str, str], upload: Upload, assembly: Assembly) -> None:
    """The whole-object checks a Complete request may carry: x-amz-checksum-type,
    x-amz-checksum-<algorithm> (the expected object checksum) and x-amz-mp-object-size."""
    kind = headers.get("x-amz-checksum-type")
    if kind is not None and kind.strip().upper() != (upload.checksum_type or ""):
        raise S3Error(
            S3ErrorCode.BAD_DIGEST,
            f"The upload was created using the {upload.checksum_type or 'null'} checksum "
            "mode. The complete request must use the same checksum mode.",
        )
    for algorithm in ALGORITHMS:
        value = headers.get(header_name(algorithm))
        if value is None:
            continue
        if algorithm != upload.checksum_algorithm:
            raise S3Error(
                S3ErrorCode.BAD_DIGEST,
                f"The {algorithm.lower()} you specified did not match the upload's checksum "
                "algorithm.",
            )
        if value.strip() != assembly.checksums.get(algorithm):
            raise S3Error(
                S3ErrorCode.BAD_DIGEST,
                f"The {algorithm.lower()} you specified did not match the calculated checksum.",
            )
    size = headers.get("x-amz-mp-object-size")
    if size is not None and size.strip() != str(assembly.size):
        raise S3Error(
            S3ErrorCode.INVALID_REQUEST,
            f"The provided 'x-amz-mp-object-size' header value {size.strip()} does not match "
            f"what was computed: {assembly.size}",
        )
