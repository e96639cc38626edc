r"""AWS Signature Version 4 for S3: canonical request, string to sign, signing key.

How this works
--------------
A SigV4 signature is HMAC-SHA256(signing key, string to sign), where

    canonical request = METHOD \n canonical URI \n canonical query \n
                        canonical headers \n \n signed headers \n payload hash
    string to sign    = "AWS4-HMAC-SHA256" \n timestamp \n scope \n
                        hex(sha256(canonical request))
    scope             = YYYYMMDD/region/service/aws4_request
    signing key       = HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request"

S3 differs from other services in one place: the canonical URI is the path exactly as it
was sent (already URI-encoded once by the client), neither normalised nor encoded again.
The payload hash is the x-amz-content-sha256 value (a hex digest, UNSIGNED-PAYLOAD or a
STREAMING-* token), and UNSIGNED-PAYLOAD for presigned URLs. Streaming bodies chain one
signature per chunk and one for the trailer from the request signature (auth.chunked).

This module only computes; auth.authenticate decides what to compare and which errors to
raise. botocore.auth.S3SigV4Auth / S3SigV4QueryAuth are the reference the tests compare to.

https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def utf8(text: str) -> bytes:
    """UTF-8 bytes of `text`, giving back the original bytes of surrogate-escaped input.

    aiohttp decodes header bytes that are not UTF-8 with surrogateescape; a client signed
    those raw bytes, so they must come back unchanged. Anything else unencodable cannot
    have been signed as such and is replaced (the signature then fails, without a crash).
    """
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


_UNRESERVED_PATH = re.compile(r"[A-Za-z0-9_.~/-]*").fullmatch


def uri_encode(text: str, *, keep_slash: bool = False) -> str:
    """AWS UriEncode: every byte but A-Za-z0-9 -_.~ as %XX (upper-case), space as %20."""
    # Most names and values (query parameter names, access keys, dates, hex) need no
    # escaping: one regular expression match instead of encoding and quoting.
    if _UNRESERVED_PATH(text):
        # Only "/" may need escaping: a presigned URL's X-Amz-Credential, on every request.
        return text if keep_slash else text.replace("/", "%2F")
    # urllib's quote always keeps "-_.~" and letters/digits, and writes upper-case hex.
    return quote(utf8(text), safe="/" if keep_slash else "")


def canonical_uri_candidates(raw_path: str) -> list[str]:
    """The canonical URI for a raw path: the path as sent, then its AWS-encoded form.

    S3 signs the path as sent. Some clients send characters that AWS encoding would
    escape (e.g. "!" or "(") while signing their encoded form, so the re-encoding of the
    decoded path is a second candidate (as MinIO does); both name the same object key.
    """
    return list(iter_canonical_uris(raw_path))


def iter_canonical_uris(raw_path: str) -> Iterator[str]:
    """canonical_uri_candidates, lazily: the second form is only computed when the first
    did not match (almost every request matches the path as sent)."""
    path = raw_path or "/"
    yield path
    reencoded = uri_encode(unquote(path, errors="replace"), keep_slash=True)
    if reencoded != path:
        yield reencoded


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Each name and value UriEncoded, sorted by name then value, joined by "&"."""
    # List comprehensions, not generators: a generator is resumed once per pair.
    encoded = [(uri_encode(name), uri_encode(value)) for name, value in pairs]
    encoded.sort()
    return "&".join([f"{name}={value}" for name, value in encoded])


def canonical_headers(signed_headers: Iterable[str], headers: Mapping[str, str]) -> str:
    r"""Lines "name:value\n" for the signed headers: values trimmed, inner blanks collapsed."""
    lines = []
    for name in signed_headers:
        # A signed header the request lacks signs as empty: the signature then fails.
        value = " ".join(headers.get(name, "").split())
        lines.append(f"{name}:{value}\n")
    return "".join(lines)


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers_block: str,
    signed_headers: Iterable[str],
    payload_hash: str,
) -> str:
    return "\n".join([method, uri, query, headers_block, ";".join(signed_headers), payload_hash])


def scope(date: str, region: str, service: str) -> str:
    return f"{date}/{region}/{service}/aws4_request"


def string_to_sign(amz_date: str, credential_scope: str, canonical: str) -> str:
    digest = hashlib.sha256(utf8(canonical)).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{credential_scope}\n{digest}"


# A signing key depends only on the secret, the day, the region and the service, so a
# key signing many requests derives it once a day (four HMACs saved per request, as the
# AWS SDKs cache it). The cache holds secrets, as the credential cache already does.
@lru_cache(maxsize=256)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(utf8("AWS4" + secret_key), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def sign(key: bytes, text: str) -> str:
    """Hex HMAC-SHA256 of `text`: the signature of a string to sign."""
    inner, outer = _hmac_pads(key)
    inner = inner.copy()
    inner.update(utf8(text))
    outer = outer.copy()
    outer.update(inner.digest())
    return outer.hexdigest()


# HMAC (RFC 2104) as two SHA-256 states that have already absorbed the padded key: the
# same key signs every request of a day (and every chunk of a stream), and copying a hash
# state costs a fraction of setting up OpenSSL's HMAC for each message.
_BLOCK = 64  # SHA-256's block size


@lru_cache(maxsize=256)
def _hmac_pads(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


def chunk_string_to_sign(
    amz_date: str, credential_scope: str, previous_signature: str, chunk_sha256: str
) -> str:
    """String to sign of one aws-chunked chunk (sigv4-streaming.html)."""
    return "\n".join(
        [
            "AWS4-HMAC-SHA256-PAYLOAD",
            amz_date,
            credential_scope,
            previous_signature,
            EMPTY_SHA256,
            chunk_sha256,
        ]
    )


def trailer_string_to_sign(
    amz_date: str, credential_scope: str, previous_signature: str, trailer_sha256: str
) -> str:
    r"""String to sign of the trailing headers (sigv4-streaming-trailers.html).

    `trailer_sha256` hashes the trailers as "name:value\n" lines, in the order sent.
    """
    return "\n".join(
        ["AWS4-HMAC-SHA256-TRAILER", amz_date, credential_scope, previous_signature, trailer_sha256]
    )


_AMZ_DATE = re.compile(r"(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z").fullmatch


@lru_cache(maxsize=64)
def parse_amz_date(value: str) -> float | None:
    """Epoch seconds of an ISO 8601 basic timestamp ("20130524T000000Z"), or None."""
    if len(value) != 16:
        return None
    # The form every client sends, read without time.strptime (about 10 us a call);
    # anything else (and leap seconds, which strptime accepts) takes strptime's path.
    fields = _AMZ_DATE(value)
    if fields is not None and value.isascii():
        year, month, day, hour, minute, second = map(int, fields.groups())
        if (
            year >= 1
            and 1 <= month <= 12
            and 1 <= day <= calendar.monthrange(year, month)[1]
            and hour < 24
            and minute < 60
            and second < 60
        ):
            return float(calendar.timegm((year, month, day, hour, minute, second)))
    try:
        return float(calendar.timegm(time.strptime(value, AMZ_DATE_FORMAT)))
    except ValueError:
        return None


def format_amz_date(epoch: float) -> str:
    return time.strftime(AMZ_DATE_FORMAT, time.gmtime(epoch))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.digest(key, utf8(text), "sha256")
