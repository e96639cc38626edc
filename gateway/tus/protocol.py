"""tus 1.0 headers and rules, sans-IO: what a request says and what an answer carries.

https://tus.io/protocols/resumable-upload (core protocol, creation, creation-with-upload,
termination, checksum and expiration extensions). Values in, values out: the endpoint
(gateway/tus/endpoint.py) does the I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from email.utils import formatdate

TUS_VERSION = "1.0.0"
EXTENSIONS = ("creation", "creation-with-upload", "termination", "checksum", "expiration")
# S3's largest object (5 TiB): a finished upload is an ordinary object.
MAX_SIZE = 5 * 1024**4
# tus names (lower case) -> hashlib names. The checksum covers one PATCH body.
CHECKSUM_ALGORITHMS = {"sha1": "sha1", "md5": "md5", "sha256": "sha256"}
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# How long an upload may be resumed after its creation (the expiration extension).
UPLOAD_TTL = 24 * 3600

# Browsers may read these from a cross-origin answer (tus-js-client needs Location and
# Upload-Offset; Uppy shows the rest).
EXPOSED_HEADERS = (
    "Location",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Expires",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
)
ALLOWED_METHODS = ("POST", "HEAD", "PATCH", "DELETE", "OPTIONS")
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Tus-Resumable",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Offset",
    "Upload-Checksum",
    "X-Requested-With",
    "X-Amz-Date",
    "X-Amz-Content-Sha256",
    "X-Amz-Security-Token",
)

_DIGITS = re.compile(r"[0-9]{1,19}")
_METADATA_KEY = re.compile(r"[^\s,]+")


class TusError(Exception):
    """An answer other than success: the HTTP status and a short text body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def require_version(headers: Mapping[str, str]) -> None:
    """Every request but OPTIONS names the protocol version (412 otherwise)."""
    version = headers.get("tus-resumable")
    if version is None:
        raise TusError(412, "Tus-Resumable header missing")
    if version.strip() != TUS_VERSION:
        raise TusError(412, f"Tus-Resumable {version.strip()!r} not supported ({TUS_VERSION})")


def parse_size(raw: str | None, name: str) -> int:
    """A non-negative integer header (400 when missing or malformed)."""
    if raw is None:
        raise TusError(400, f"{name} header missing")
    text = raw.strip()
    if _DIGITS.fullmatch(text) is None:
        raise TusError(400, f"{name} must be a non-negative integer")
    return int(text)


def parse_length(headers: Mapping[str, str], max_size: int = MAX_SIZE) -> int:
    """Upload-Length at creation: 413 over the maximum. Upload-Defer-Length (the
    creation-defer-length extension) is not offered."""
    if "upload-defer-length" in headers and "upload-length" not in headers:
        raise TusError(400, "Upload-Defer-Length is not supported")
    length = parse_size(headers.get("upload-length"), "Upload-Length")
    if length > max_size:
        raise TusError(413, f"Upload-Length exceeds the maximum of {max_size} bytes")
    return length


def parse_metadata(raw: str | None) -> dict[str, str]:
    """Upload-Metadata: `key base64value` pairs separated by commas; the value may be
    absent. Values that are not UTF-8 are refused (they become object headers)."""
    out: dict[str, str] = {}
    if raw is None or not raw.strip():
        return out
    for item in raw.split(","):
        parts = item.strip().split(" ")
        if not 1 <= len(parts) <= 2 or _METADATA_KEY.fullmatch(parts[0]) is None:
            raise TusError(400, "Upload-Metadata is malformed")
        key = parts[0]
        if key in out:
            raise TusError(400, f"Upload-Metadata repeats {key!r}")
        value = ""
        if len(parts) == 2:
            try:
                value = base64.b64decode(parts[1], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise TusError(400, f"Upload-Metadata {key!r} is not base64 UTF-8") from exc
        out[key] = value
    return out


def content_type_of(metadata: Mapping[str, str]) -> str | None:
    """The object's Content-Type: what tus-js-client and Uppy send as `filetype`."""
    for name in ("filetype", "contentType", "content-type", "type"):
        value = metadata.get(name, "").strip()
        if value and "\n" not in value and "\r" not in value:
            return value
    return None


def parse_checksum(raw: str | None) -> tuple[str, bytes] | None:
    """Upload-Checksum `algorithm base64digest`: (hashlib name, digest); 400 for an
    algorithm not offered or a malformed value."""
    if raw is None:
        return None
    name, _, encoded = raw.strip().partition(" ")
    algorithm = CHECKSUM_ALGORITHMS.get(name.lower())
    if algorithm is None:
        raise TusError(400, f"Upload-Checksum algorithm {name!r} is not supported")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise TusError(400, "Upload-Checksum is not base64") from exc
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise TusError(400, f"Upload-Checksum has the wrong length for {name}")
    return algorithm, digest


def check_offset(headers: Mapping[str, str], current: int) -> None:
    """A PATCH resumes exactly where the upload is (409 otherwise)."""
    offset = parse_size(headers.get("upload-offset"), "Upload-Offset")
    if offset != current:
        raise TusError(409, f"Upload-Offset {offset} does not match the upload's {current}")


def check_patch_type(headers: Mapping[str, str]) -> None:
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != OFFSET_CONTENT_TYPE:
        raise TusError(415, f"Content-Type must be {OFFSET_CONTENT_TYPE}")


def check_declared(headers: Mapping[str, str], offset: int, length: int) -> None:
    """A body that says it goes past Upload-Length is refused before a byte is stored."""
    declared = headers.get("content-length")
    if declared is not None and declared.strip().isdigit():
        if offset + int(declared) > length:
            raise TusError(413, "The body goes past Upload-Length")


def http_date(epoch: float) -> str:
    """Upload-Expires is an RFC 9110 HTTP-date."""
    return formatdate(epoch, usegmt=True)


def capability_headers(max_size: int = MAX_SIZE) -> dict[str, str]:
    """What OPTIONS advertises."""
    return {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(EXTENSIONS),
        "Tus-Max-Size": str(max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }


def cors_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Access-Control-* for a request with an Origin (lower-case request headers).

    Any origin may use the endpoint: it authenticates by what the URL carries (a
    presigned creation URL, an upload's unguessable token), never by cookies or other
    ambient credentials, so a page of another origin gains nothing it was not handed.
    A bucket's CORS rules cannot speak for tus: they admit no PATCH.
    """
    origin = headers.get("origin")
    if not origin:
        return {}
    out = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": ", ".join(EXPOSED_HEADERS),
        "Vary": "Origin",
    }
    if "access-control-request-method" in headers:
        out["Access-Control-Allow-Methods"] = ", ".join(ALLOWED_METHODS)
        asked = headers.get("access-control-request-headers")
        out["Access-Control-Allow-Headers"] = asked or ", ".join(ALLOWED_HEADERS)
        out["Access-Control-Max-Age"] = "86400"
    return out
