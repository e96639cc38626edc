"""Who signed this request: parse the credentials, then verify them against the secret.

How this works
--------------
The dispatcher calls, in order:

    parsed = parse_auth(req)          # None: anonymous. Raises on malformed credentials.
    secret = <look up parsed.access_key>   # the dispatcher raises InvalidAccessKeyId
    result = verify_auth(parsed, req, secret, now=clock())

parse_auth recognises exactly one of four schemes (more than one is InvalidArgument):

    v4-header   Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...
    v4-query    X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
                X-Amz-SignedHeaders, X-Amz-Signature in the query (presigned URL)
    v2-header   Authorization: AWS AKID:base64-signature
    v2-query    AWSAccessKeyId, Expires, Signature in the query (presigned URL)

verify_auth checks time first (header auth: 15 minutes of skew either way; presigned:
not before X-Amz-Date minus the skew, not after its expiry), then that every x-amz-*
header and Host are signed (SigV4), then the signature, and finally maps
x-amz-content-sha256 to the PayloadMode that tells the body reader what to verify.

https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
https://docs.aws.amazon.com/AmazonS3/latest/API/RESTCommonRequestHeaders.html
"""

from __future__ import annotations

import calendar
import hmac
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Literal

from auth import sigv2, sigv4
from auth.request import AuthResult, ChunkSigner, PayloadMode, SignedRequest
from gateway.errors import S3Error, S3ErrorCode
from gateway.values import quick_init

Scheme = Literal["v4-header", "v4-query", "v2-header", "v2-query"]

MAX_SKEW_SECONDS = 15 * 60
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600  # 604800, the SigV4 presigned URL limit

_V4_QUERY_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
_V2_QUERY_PARAMS = ("AWSAccessKeyId", "Signature", "Expires")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# x-amz-* headers that may go unsigned: the payload hash is already in the canonical
# request of header auth, and presigned URLs take it from the (signed) query.
_MAY_BE_UNSIGNED = frozenset({"x-amz-content-sha256"})
_NO_DATE = "AWS authentication requires a valid Date or x-amz-date header"


@quick_init
@dataclass(frozen=True)
class ParsedAuth:
    """The credentials of a request, parsed but not yet verified."""

    scheme: Scheme
    access_key: str
    signature: str
    request_time: float | None = None  # X-Amz-Date / Date (None for v2-query)
    amz_date: str = ""  # v4: the ISO 8601 basic timestamp of the string to sign
    date: str = ""  # v4: YYYYMMDD of the credential scope
    region: str = ""  # v4: the region of the credential scope (any is accepted)
    service: str = ""  # v4: the scope's service, one of those parse_auth was told to accept
    signed_headers: tuple[str, ...] = ()  # v4: as listed by the client
    expires: int | None = None  # v4-query: X-Amz-Expires seconds; v2-query: Expires epoch
    expires_raw: str = ""  # v2-query: Expires as sent (it is signed as a string)

    @property
    def presigned(self) -> bool:
        return self.scheme.endswith("-query")


def anonymous_result() -> AuthResult:
    return AuthResult(
        access_key=None,
        payload_mode=PayloadMode.UNSIGNED,
        payload_sha256=None,
        chunk_signer=None,
        presigned=False,
        expires_at=None,
    )


S3_SERVICES = frozenset({"s3"})
# Any of them in the query: the request means SigV4 query authentication.
_V4_QUERY_MARKS = frozenset({"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"})


def parse_auth(req: SignedRequest, *, services: frozenset[str] = S3_SERVICES) -> ParsedAuth | None:
    """The request's credentials; None for an anonymous request. Raises S3Error if malformed.

    `services`: the SigV4 scope services this entry serves (S3 routes: "s3" only; the
    IAM/STS query API, auth/iam/endpoint.py: "iam" and "sts")."""
    header = req.headers.get("authorization", "").strip()
    names = {name for name, _ in req.query}
    v4_query = not names.isdisjoint(_V4_QUERY_MARKS)
    v2_query = "AWSAccessKeyId" in names or "Signature" in names
    mechanisms = bool(header) + v4_query + v2_query
    if mechanisms == 0:
        return None
    if mechanisms > 1:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
            ArgumentName="Authorization",
            ArgumentValue=header,
        )
    if v4_query:
        return _parse_v4_query(req.query, services)
    if v2_query:
        return _parse_v2_query(req)
    kind, _, rest = header.partition(" ")
    if kind == sigv4.ALGORITHM:
        return _parse_v4_header(rest, req, services)
    if kind == "AWS":
        return _parse_v2_header(rest, header, req)
    raise S3Error(
        S3ErrorCode.INVALID_ARGUMENT,
        "Unsupported Authorization Type",
        ArgumentName="Authorization",
        ArgumentValue=header,
    )


def verify_auth(
    parsed: ParsedAuth,
    req: SignedRequest,
    secret_key: str,
    *,
    now: float,
    max_presigned: int = MAX_PRESIGNED_EXPIRES,
) -> AuthResult:
    """Check time, signed headers and signature; raise S3Error or return the AuthResult.

    `max_presigned`: the operator's cap on a presigned URL's lifetime (--max-presigned-expiry,
    at most SigV4's week). A SigV2 URL names only its expiry date, so it may not expire
    later than that from now: without the cap, a V2 URL could be made to last for ever."""
    if parsed.presigned and parsed.expires is not None:
        _check_presigned_cap(parsed, now, max_presigned)
    if parsed.scheme.startswith("v4"):
        return _verify_v4(parsed, req, secret_key, now)
    return _verify_v2(parsed, req, secret_key, now)


def _check_presigned_cap(parsed: ParsedAuth, now: float, cap: int) -> None:
    assert parsed.expires is not None
    if parsed.scheme == "v4-query":
        if parsed.expires > cap:
            raise S3Error(
                S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
                f"X-Amz-Expires must be at most {cap} seconds on this server",
            )
    elif parsed.expires - now > cap:
        raise S3Error(
            S3ErrorCode.ACCESS_DENIED,
            f"Expires must be at most {cap} seconds from now on this server",
        )


# -- SigV4 -------------------------------------------------------------------------------


def _parse_v4_header(rest: str, req: SignedRequest, services: frozenset[str]) -> ParsedAuth:
    code = S3ErrorCode.AUTHORIZATION_HEADER_MALFORMED
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not name and not sep:
            continue  # tolerate a trailing comma
        if not sep or name in fields:
            raise S3Error(
                code,
                f"The authorization header is malformed; incorrect component {part.strip()!r}.",
            )
        fields[name] = value.strip()
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise S3Error(
            code,
            "The authorization header is malformed; the authorization header requires three "
            "components: Credential, SignedHeaders, and Signature.",
        )
    access_key, date, region, service = _parse_credential(fields["Credential"], code, services)
    amz_date_header = req.headers.get("x-amz-date")
    if amz_date_header is not None:
        request_time = sigv4.parse_amz_date(amz_date_header.strip())
        amz_date = amz_date_header.strip()
    else:
        # Date (RFC 7231) may stand in for x-amz-date; the string to sign still uses the
        # ISO 8601 basic form of the same instant, as botocore does.
        request_time = _parse_http_date(req.headers.get("date", ""))
        amz_date = "" if request_time is None else sigv4.format_amz_date(request_time)
    if request_time is None:
        raise S3Error(S3ErrorCode.ACCESS_DENIED, _NO_DATE)
    if amz_date[:8] != date:
        raise S3Error(code, "Invalid credential date. Date is not the same as X-Amz-Date.")
    return ParsedAuth(
        scheme="v4-header",
        access_key=access_key,
        signature=fields["Signature"],
        request_time=request_time,
        amz_date=amz_date,
        date=date,
        region=region,
        service=service,
        signed_headers=_parse_signed_headers(fields["SignedHeaders"], code),
    )


# A presigned URL fetched again parses the same (see _presigned_v4).
@lru_cache(maxsize=1024)
def _parse_v4_query(query: tuple[tuple[str, str], ...], services: frozenset[str]) -> ParsedAuth:
    code = S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR
    params: dict[str, str] = {}
    for name, value in query:
        if name in _V4_QUERY_PARAMS:
            if name in params:
                raise S3Error(code, f"Query parameter {name} appears more than once.")
            params[name] = value
    if len(params) != len(_V4_QUERY_PARAMS):
        raise S3Error(
            code,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters.",
        )
    if params["X-Amz-Algorithm"] != sigv4.ALGORITHM:
        raise S3Error(code, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    access_key, date, region, service = _parse_credential(
        params["X-Amz-Credential"], code, services
    )
    amz_date = params["X-Amz-Date"]
    request_time = sigv4.parse_amz_date(amz_date)
    if request_time is None:
        raise S3Error(
            code, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    if amz_date[:8] != date:
        raise S3Error(code, "Invalid credential date. Date is not the same as X-Amz-Date.")
    raw_expires = params["X-Amz-Expires"]
    if raw_expires.startswith("-") and _is_digits(raw_expires[1:]):
        raise S3Error(code, "X-Amz-Expires must be non-negative")
    if not _is_digits(raw_expires):
        raise S3Error(code, "X-Amz-Expires should be a number")
    # (int() refuses strings of thousands of digits; anything that long is too long anyway.)
    expires = int(raw_expires) if len(raw_expires) <= 10 else MAX_PRESIGNED_EXPIRES + 1
    if expires > MAX_PRESIGNED_EXPIRES:
        # AWS's answer, word for word (including its punctuation).
        raise S3Error(
            S3ErrorCode.AUTHORIZATION_QUERY_PARAMETERS_ERROR,
            "X-Amz-Expires must be less than a week (in seconds) that is; 604800",
        )
    return ParsedAuth(
        scheme="v4-query",
        access_key=access_key,
        signature=params["X-Amz-Signature"],
        request_time=request_time,
        amz_date=amz_date,
        date=date,
        region=region,
        service=service,
        signed_headers=_parse_signed_headers(params["X-Amz-SignedHeaders"], code),
        expires=expires,
    )


def _parse_credential(
    credential: str, code: S3ErrorCode, services: frozenset[str]
) -> tuple[str, str, str, str]:
    """(access key, date, region, service) of "AKID/YYYYMMDD/region/s3/aws4_request"."""
    parts = credential.rsplit("/", 4)
    if len(parts) != 5 or not parts[0] or not parts[2] or parts[4] != "aws4_request":
        raise S3Error(
            code,
            "Error parsing the Credential: expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        )
    access_key, date, region, service, _ = parts
    if len(date) != 8 or not _is_digits(date):
        raise S3Error(code, f"Invalid credential date {date!r}: expecting YYYYMMDD.")
    if service not in services:
        owner = "/".join(sorted(services))
        raise S3Error(code, f'Incorrect service "{service}". This endpoint belongs to "{owner}".')
    return access_key, date, region, service


def _parse_signed_headers(value: str, code: S3ErrorCode) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not value or any(not name or name != name.strip() for name in names):
        raise S3Error(code, f"Invalid SignedHeaders {value!r}.")
    return names


def _verify_v4(parsed: ParsedAuth, req: SignedRequest, secret_key: str, now: float) -> AuthResult:
    assert parsed.request_time is not None  # set by both v4 parsers
    if not parsed.presigned:
        _check_skew(parsed.request_time, now)
        return _signature_v4(parsed, req, secret_key)
    assert parsed.expires is not None
    expires_at = parsed.request_time + parsed.expires
    _check_presigned_window(parsed.request_time, expires_at, now, parsed.expires)
    if req.query_value("X-Amz-Content-Sha256") is not None:
        return _signature_v4(parsed, req, secret_key)  # a signed body: a signer of its own
    # A presigned URL is fetched again and again (a shared link, a page's images): what
    # its signature proves depends on nothing but the request and the secret, so the
    # same request (method, path, query, every header) under the same secret is checked
    # once; only the time window above is checked every time.
    return _presigned_v4(
        parsed,
        req.method,
        req.raw_path,
        req.query,
        tuple(req.headers.items()),
        req.host_bucket,
        secret_key,
    )


@lru_cache(maxsize=1024)
def _presigned_v4(
    parsed: ParsedAuth,
    method: str,
    raw_path: str,
    query: tuple[tuple[str, str], ...],
    headers: tuple[tuple[str, str], ...],
    host_bucket: str | None,
    secret_key: str,
) -> AuthResult:
    req = SignedRequest(method, raw_path, query, dict(headers), host_bucket)
    return _signature_v4(parsed, req, secret_key)


def _signature_v4(parsed: ParsedAuth, req: SignedRequest, secret_key: str) -> AuthResult:
    """The signature's check, and what it says of the body (no clock involved)."""
    assert parsed.request_time is not None
    expires_at: float | None = None
    if parsed.presigned:
        assert parsed.expires is not None
        expires_at = parsed.request_time + parsed.expires
        # The query is signed except for the signature itself.
        query = [(k, v) for k, v in req.query if k != "X-Amz-Signature"]
        signed_hash = req.query_value("X-Amz-Content-Sha256")
        payload_hash = signed_hash or "UNSIGNED-PAYLOAD"
        if signed_hash is not None:
            mode, sha = _payload_mode(signed_hash, signed_streaming=True)
        else:
            mode, sha = _unsigned_payload_mode(req.headers.get("x-amz-content-sha256"))
    else:
        query = list(req.query)
        header_hash = req.headers.get("x-amz-content-sha256")
        if header_hash is None:
            raise S3Error(
                S3ErrorCode.INVALID_REQUEST,
                "Missing required header for this request: x-amz-content-sha256",
            )
        payload_hash = header_hash
        mode, sha = _payload_mode(header_hash, signed_streaming=True)
    _check_all_signed(parsed.signed_headers, req)

    key = sigv4.signing_key(secret_key, parsed.date, parsed.region, parsed.service)
    scope = sigv4.scope(parsed.date, parsed.region, parsed.service)
    lower_names = [name.lower() for name in parsed.signed_headers]
    headers_block = sigv4.canonical_headers(lower_names, req.headers)
    canonical_query = sigv4.canonical_query(query)
    first: tuple[str, str] | None = None
    for uri in sigv4.iter_canonical_uris(req.raw_path):
        canonical = sigv4.canonical_request(
            req.method, uri, canonical_query, headers_block, parsed.signed_headers, payload_hash
        )
        to_sign = sigv4.string_to_sign(parsed.amz_date, scope, canonical)
        expected = sigv4.sign(key, to_sign)
        if _same(expected, parsed.signature):
            break
        first = first or (canonical, to_sign)
    else:
        assert first is not None
        raise S3Error(
            S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,
            AWSAccessKeyId=parsed.access_key,
            StringToSign=first[1],
            SignatureProvided=parsed.signature,
            CanonicalRequest=first[0],
        )
    signer = None
    if mode in (PayloadMode.STREAMING_SIGNED, PayloadMode.STREAMING_SIGNED_TRAILER):
        signer = ChunkSigner(key, parsed.amz_date, scope, expected)
    return AuthResult(parsed.access_key, mode, sha, signer, parsed.presigned, expires_at)


def _check_all_signed(signed_headers: tuple[str, ...], req: SignedRequest) -> None:
    """Host and every x-amz-* header must be signed, or anyone could add them in transit."""
    signed = {name.lower() for name in signed_headers}
    unsigned = sorted(
        name
        for name in req.headers
        if name.startswith("x-amz-") and name not in signed and name not in _MAY_BE_UNSIGNED
    )
    if "host" not in signed:
        unsigned.insert(0, "host")
    if unsigned:
        raise S3Error(
            S3ErrorCode.ACCESS_DENIED,
            "There were headers present in the request which were not signed",
            HeadersNotSigned=", ".join(unsigned),
        )


# -- SigV2 -------------------------------------------------------------------------------


def _parse_v2_header(rest: str, header: str, req: SignedRequest) -> ParsedAuth:
    access_key, sep, signature = rest.strip().rpartition(":")
    if not sep or not access_key or not signature:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
            ArgumentName="Authorization",
            ArgumentValue=header,
        )
    amz_date = req.headers.get("x-amz-date")
    if amz_date is not None:
        # s3cmd sends x-amz-date in RFC 1123 form; accept ISO 8601 basic too.
        request_time = sigv4.parse_amz_date(amz_date.strip()) or _parse_http_date(amz_date)
    else:
        request_time = _parse_http_date(req.headers.get("date", ""))
    if request_time is None:
        raise S3Error(S3ErrorCode.ACCESS_DENIED, _NO_DATE)
    return ParsedAuth("v2-header", access_key, signature, request_time=request_time)


def _parse_v2_query(req: SignedRequest) -> ParsedAuth:
    params = {name: req.query_value(name) for name in _V2_QUERY_PARAMS}
    access_key, signature, expires = (params[name] for name in _V2_QUERY_PARAMS)
    if not access_key or not signature or expires is None:
        raise S3Error(
            S3ErrorCode.ACCESS_DENIED,
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
            "parameters",
        )
    if not _is_digits(expires) or len(expires) > 15:
        raise S3Error(
            S3ErrorCode.ACCESS_DENIED, f"Invalid date (should be seconds since epoch): {expires}"
        )
    # base64 has no spaces: a space is a "+" the client left unescaped in the URL.
    signature = signature.replace(" ", "+")
    return ParsedAuth("v2-query", access_key, signature, expires=int(expires), expires_raw=expires)


def _verify_v2(parsed: ParsedAuth, req: SignedRequest, secret_key: str, now: float) -> AuthResult:
    headers = dict(req.headers)
    expires_at: float | None = None
    if parsed.presigned:
        assert parsed.expires is not None
        expires_at = float(parsed.expires)
        if now > expires_at:
            raise S3Error(
                S3ErrorCode.EXPIRED_PRESIGNED_REQUEST,
                Expires=_iso(expires_at),
                ServerTime=_iso(now),
            )
        date_line = parsed.expires_raw
        # botocore's HmacV1QueryAuth moves the x-amz-*, Content-Type and Content-MD5
        # headers it signed into the query. They stand in for headers the request lacks;
        # a header actually sent wins, so what the handler sees is what was signed.
        from_query = {
            low: value
            for name, value in req.query
            if (low := name.lower()).startswith("x-amz-") or low in ("content-md5", "content-type")
        }
        headers = from_query | headers
    else:
        assert parsed.request_time is not None
        _check_skew(parsed.request_time, now)
        # With x-amz-date present the Date line is empty; x-amz-date is an amz header.
        date_line = "" if "x-amz-date" in headers else headers.get("date", "").strip()
    amz_headers = {name: value for name, value in headers.items() if name.startswith("x-amz-")}
    content_md5 = headers.get("content-md5", "")
    content_type = headers.get("content-type", "")

    first = ""
    # Bucket requests in virtual-host style have path "/"; only path style needs the "/".
    paths = (
        sigv2.path_candidates(req.raw_path)
        if req.host_bucket is None
        else (sigv4.canonical_uri_candidates(req.raw_path))
    )
    for path in paths:
        for equals_for_empty in (False, True):
            resource = sigv2.canonical_resource(
                path, req.query, req.host_bucket, equals_for_empty=equals_for_empty
            )
            to_sign = sigv2.string_to_sign(
                req.method, content_md5, content_type, date_line, amz_headers, resource
            )
            if _same(sigv2.sign(secret_key, to_sign), parsed.signature):
                mode, sha = _unsigned_payload_mode(amz_headers.get("x-amz-content-sha256"))
                return AuthResult(parsed.access_key, mode, sha, None, parsed.presigned, expires_at)
            first = first or to_sign
    raise S3Error(
        S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,
        AWSAccessKeyId=parsed.access_key,
        StringToSign=first,
        SignatureProvided=parsed.signature,
    )


# -- shared ------------------------------------------------------------------------------


def _payload_mode(value: str, *, signed_streaming: bool) -> tuple[PayloadMode, str | None]:
    """The PayloadMode of an x-amz-content-sha256 value, and the digest when it is one."""
    if _HEX_SHA256.fullmatch(value):
        return PayloadMode.SIGNED, value.lower()
    for mode in PayloadMode:
        if mode is not PayloadMode.SIGNED and value == mode.value:
            if mode.value.startswith("STREAMING-AWS4-") and not signed_streaming:
                raise S3Error(
                    S3ErrorCode.INVALID_REQUEST,
                    f"{value} requires AWS Signature Version 4 header authentication",
                )
            return mode, None
    if value.startswith("STREAMING-AWS4-ECDSA"):
        raise S3Error(S3ErrorCode.NOT_IMPLEMENTED, "SigV4a streaming payloads are not supported")
    raise S3Error(
        S3ErrorCode.INVALID_ARGUMENT,
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER) or a valid sha256 value.",
        ArgumentName="x-amz-content-sha256",
        ArgumentValue=value,
    )


def _unsigned_payload_mode(value: str | None) -> tuple[PayloadMode, str | None]:
    """Payload mode when the signature does not cover a payload hash (SigV2, presigned).

    An absent value means UNSIGNED. A literal digest is still honoured (the body is then
    checked against it), and an aws-chunked body with unsigned trailer must be decoded
    whatever signed the request; chunk signatures need SigV4 header auth.
    """
    if value is None:
        return PayloadMode.UNSIGNED, None
    return _payload_mode(value, signed_streaming=False)


def _check_skew(request_time: float, now: float) -> None:
    if abs(now - request_time) > MAX_SKEW_SECONDS:
        raise S3Error(
            S3ErrorCode.REQUEST_TIME_TOO_SKEWED,
            RequestTime=_iso(request_time),
            ServerTime=_iso(now),
            MaxAllowedSkewMilliseconds=str(MAX_SKEW_SECONDS * 1000),
        )


def _check_presigned_window(signed_at: float, expires_at: float, now: float, seconds: int) -> None:
    if now < signed_at - MAX_SKEW_SECONDS:
        raise S3Error(S3ErrorCode.ACCESS_DENIED, "Request is not valid yet")
    if now > expires_at:
        raise S3Error(
            S3ErrorCode.EXPIRED_PRESIGNED_REQUEST,
            XAmzExpires=str(seconds),
            Expires=_iso(expires_at),
            ServerTime=_iso(now),
        )


def _parse_http_date(value: str) -> float | None:
    """Epoch seconds of an HTTP date (RFC 7231 IMF-fixdate, RFC 850 or asctime)."""
    value = value.strip()
    if not value or len(value) > 64:  # an HTTP date is 29 characters
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000" / no zone: HTTP dates are always GMT
        return float(calendar.timegm(parsed.timetuple()))
    return parsed.timestamp()


def _same(expected: str, provided: str) -> bool:
    # compare_digest refuses non-ASCII str; compare bytes so a junk signature is a mismatch.
    return hmac.compare_digest(expected.encode("ascii"), sigv4.utf8(provided))


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
