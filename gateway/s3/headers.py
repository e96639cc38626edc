"""Pure request-header logic: Range, x-amz-meta-*, content headers, copy source, dates, ETags.

Conditional requests (If-Match and friends) are gateway.s3.preconditions'.

Every function takes plain values. `headers` is any Mapping whose lookups work with
lower-case names: aiohttp's CIMultiDictProxy, or a dict with lower-case keys.
"""

from __future__ import annotations

import email.utils
import functools
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Final
from urllib.parse import parse_qs, unquote

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.mime_words import decode_value
from gateway.s3.website import valid_object_redirect
from gateway.values import quick_init

# -- dates and ETags ------------------------------------------------------------------------


_DAYS: Final = tuple("Mon Tue Wed Thu Fri Sat Sun".split())
_MONTHS: Final = tuple("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())


def http_date(ts: float) -> str:
    """RFC 7231 §7.1.1.1 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (seconds floored).

    Formatted from time.gmtime: email.utils.formatdate, which says the same, builds a
    datetime and a time tuple first, and every GET and HEAD answer carries Last-Modified:
    the objects read most are answered from a cache."""
    return _imf_fixdate(math.floor(ts))


@functools.lru_cache(maxsize=4096)
def _imf_fixdate(seconds: int) -> str:
    t = time.gmtime(seconds)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d}"
        f" {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def parse_http_date(value: str) -> float | None:
    """IMF-fixdate, RFC 850 or asctime (RFC 7231 §7.1.1.1); None when unparseable."""
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # asctime carries no zone; HTTP dates are always GMT
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def iso8601(ts: float) -> str:
    """The S3 XML timestamp, e.g. "2006-02-03T16:45:09.000Z" (milliseconds, UTC, floored)."""
    # 1 µs of slack so that a stored 1.001 (binary 1.000999...) still renders .001
    seconds, millis = divmod(math.floor(ts * 1000 + 1e-3), 1000)
    return f"{_utc_second(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _utc_second(seconds: int) -> str:
    # A listing page formats 1,000 of these, often from the same seconds (objects written
    # together): cached, and gmtime rather than datetime.strftime (half the cost).
    t = time.gmtime(seconds)
    return f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}T{t[3]:02d}:{t[4]:02d}:{t[5]:02d}"


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


# -- Range ----------------------------------------------------------------------------------

# At most 20 digits: larger offsets cannot address an object, and int() of thousands of
# digits is slow (and refused past sys.get_int_max_str_digits()).
_RANGE = re.compile(r"bytes=(\d{0,20})-(\d{0,20})", re.ASCII | re.IGNORECASE)


def parse_range(value: str | None, size: int) -> tuple[int, int] | None:
    """The Range header as (start, end_exclusive), or None to serve the whole object.

    RFC 7233 §2.1 byte ranges as GetObject applies them
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax):
    one range only; a syntactically invalid or multi-range header is ignored. A suffix
    longer than the object selects all of it (still a 206). An unsatisfiable range
    raises InvalidRange (416).
    """
    if value is None:
        return None
    match = _RANGE.fullmatch(value.strip())
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if first:
        start = int(first)
        if last and int(last) < start:  # bytes=5-2: invalid syntax, ignored (RFC 7233 §2.1)
            return None
        if start >= size:
            raise _invalid_range(value, size)
        return start, (min(int(last) + 1, size) if last else size)
    if not last:  # "bytes=-"
        return None
    suffix = int(last)
    if suffix == 0 or size == 0:
        raise _invalid_range(value, size)
    return max(size - suffix, 0), size


def _invalid_range(value: str, size: int) -> S3Error:
    return S3Error(S3ErrorCode.INVALID_RANGE, RangeRequested=value, ActualObjectSize=str(size))


def parse_copy_source_range(value: str | None, size: int) -> tuple[int, int] | None:
    """x-amz-copy-source-range "bytes=first-last" as (start, end_exclusive); None if absent.

    https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html: both offsets
    are required. Malformed values answer InvalidArgument, ranges beyond the source 400
    InvalidRange, as S3 does.
    """
    if value is None:
        return None
    match = _RANGE.fullmatch(value.strip())
    if match is None or not match.group(1) or not match.group(2):
        raise _bad_copy_range(value)
    start, last = int(match.group(1)), int(match.group(2))
    if last < start:
        raise _bad_copy_range(value)
    if last >= size:
        raise S3Error(
            S3ErrorCode.INVALID_COPY_SOURCE_RANGE,
            f"Range specified is not valid for source object of size: {size}",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=value,
            RangeRequested=value,
            ActualObjectSize=str(size),
        )
    return start, last + 1


def _bad_copy_range(value: str) -> S3Error:
    return S3Error(
        S3ErrorCode.INVALID_ARGUMENT,
        "The x-amz-copy-source-range value must be of the form bytes=first-last where "
        "first and last are the zero-based offsets of the first and last bytes to copy",
        ArgumentName="x-amz-copy-source-range",
        ArgumentValue=value,
    )


# -- metadata and content headers -----------------------------------------------------------

META_PREFIX: Final = "x-amz-meta-"
MAX_USER_METADATA: Final = 2048

# Stored with the object and returned on GET/HEAD (PutObject request headers).
CONTENT_HEADERS: Final = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
    "x-amz-website-redirect-location",
)


def user_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    """x-amz-meta-* as {lower-case name without the prefix: value}.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html: at most
    2 KB, counted as the UTF-8 bytes of every name and value. Repeated headers join
    with "," as HTTP (and SigV4 canonicalisation) treat them.
    """
    meta: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith(META_PREFIX) and len(lower) > len(META_PREFIX):
            short = lower[len(META_PREFIX) :]
            value = decode_value(value)  # RFC 2047 words, as S3 (gateway/s3/mime_words.py)
            meta[short] = f"{meta[short]},{value}" if short in meta else value
    size = sum(_utf8_len(k) + _utf8_len(v) for k, v in meta.items())
    if size > MAX_USER_METADATA:
        raise S3Error(
            S3ErrorCode.METADATA_TOO_LARGE,
            Size=str(size),
            MaxSizeAllowed=str(MAX_USER_METADATA),
        )
    return meta


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


def content_headers(headers: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    """(Content-Type, the other stored content headers by lower-case name).

    "aws-chunked" is a transfer framing, not a content coding: S3 strips it from the
    stored Content-Encoding
    (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html).
    """
    stored: dict[str, str] = {}
    for name in CONTENT_HEADERS:
        value = headers.get(name)
        if value is None:
            continue
        if name == "content-encoding":
            value = _without_aws_chunked(value)
        if value:
            stored[name] = value
    return headers.get("content-type"), stored


def _without_aws_chunked(value: str) -> str:
    """Content-Encoding minus the aws-chunked framing, otherwise byte for byte as sent."""
    codings = value.split(",")
    kept = [c for c in codings if c.strip().lower() != "aws-chunked"]
    if len(kept) == len(codings):
        return value
    return ",".join(kept).strip()


# -- what a write's headers say about its object --------------------------------------------

STORAGE_CLASSES: Final = frozenset(
    {
        "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
        "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE",
    }
)  # fmt: skip
# Headers naming features that are not built yet: refusing them beats silently ignoring.
# (x-amz-tagging and x-amz-object-lock-* are gateway.s3.object_lock's: write_retention;
# x-amz-acl and x-amz-grant-* are gateway.request_acl's.)
# (x-amz-server-side-encryption* are gateway.s3.sse's: the writes that encrypt read them.)
_UNSUPPORTED: Final = {
    "x-amz-server-side-encryption": "Server-side encryption",
    "x-amz-server-side-encryption-customer-algorithm": "SSE-C",
}


@quick_init
@dataclass(frozen=True)
class ObjectFields:
    """What an upload's request headers say about the object it creates."""

    content_type: str | None
    headers: Mapping[str, str]
    user_meta: Mapping[str, str]
    storage_class: str


def refuse_unsupported(headers: Mapping[str, str]) -> None:
    for name, feature in _UNSUPPORTED.items():
        if headers.get(name):
            raise S3Error(S3ErrorCode.NOT_IMPLEMENTED, f"{feature} is not supported yet")


def object_fields(headers: Mapping[str, str]) -> ObjectFields:
    """PutObject, CopyObject (REPLACE) and CreateMultipartUpload headers; InvalidStorageClass,
    the caller reads the encryption headers (gateway.encryption.write_keys)."""
    content_type, content = content_headers(headers)
    redirect = content.get("x-amz-website-redirect-location")
    if redirect is not None and not valid_object_redirect(redirect):
        raise S3Error(S3ErrorCode.INVALID_REDIRECT_LOCATION)
    storage_class = headers.get("x-amz-storage-class", "STANDARD")
    if storage_class not in STORAGE_CLASSES:
        raise S3Error(S3ErrorCode.INVALID_STORAGE_CLASS, StorageClassRequested=storage_class)
    return ObjectFields(content_type, content, user_metadata(headers), storage_class)


# GetObject response-* query parameters -> the response header they override
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax).
RESPONSE_OVERRIDES: Final = {
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
    "response-content-language": "Content-Language",
    "response-content-type": "Content-Type",
    "response-expires": "Expires",
}


# A header value may not hold control characters (RFC 9110 5.5): CR/LF would split the
# response, and aiohttp refuses to write them at all (a 500 after the handler returned).
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def response_overrides(query: Mapping[str, str]) -> dict[str, str]:
    """Response header name -> value from the response-* query parameters."""
    overrides: dict[str, str] = {}
    for param, header in RESPONSE_OVERRIDES.items():
        value = query.get(param)
        if value is None:
            continue
        if _CONTROL.search(value):
            raise S3Error(
                S3ErrorCode.INVALID_ARGUMENT,
                f"{param} may not contain control characters",
                ArgumentName=param,
            )
        overrides[header] = value
    return overrides


# -- copy source ----------------------------------------------------------------------------

_BAD_COPY_SOURCE = "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """x-amz-copy-source as (bucket, key, version_id).

    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html: "bucket/key" or
    "/bucket/key", URL-encoded, optionally followed by "?versionId=...". The query is
    split off before decoding, so an encoded "%3F" stays part of the key.
    """
    path, _, query = value.partition("?")
    try:
        path = unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, _BAD_COPY_SOURCE) from None
    bucket, _, key = path.removeprefix("/").partition("/")
    if not bucket or not key:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, _BAD_COPY_SOURCE)
    version_id = None
    if query:
        versions = parse_qs(query, keep_blank_values=True).get("versionId")
        if versions is not None:
            version_id = versions[0]
            if not version_id:
                raise S3Error(
                    S3ErrorCode.INVALID_ARGUMENT,
                    "Invalid version id specified",
                    ArgumentName="x-amz-copy-source",
                    ArgumentValue=value,
                )
    return bucket, key, version_id
