"""Presigned SigV4 query URLs, made by the gateway for a key it holds (the web console).

The console never hands a secret to the browser: it asks the server to sign one S3
request at a time for the signed-in key, and the browser sends that request to the S3
endpoint, where it is authenticated and authorized like any presigned URL. Pure: the
caller passes the time, the secret and the request.

    canonical request = METHOD \\n path \\n canonical query (without X-Amz-Signature) \\n
                        "host:<host>\\n" \\n "host" \\n "UNSIGNED-PAYLOAD"

Extra `headers` (lower-case x-amz-* names the request must carry, such as CopyObject's
x-amz-copy-source) are signed too: the verifier refuses unsigned x-amz-* headers, and
signing them binds the URL to their values.

https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
(botocore.auth.S3SigV4QueryAuth is the reference tests/unit compares to.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from auth import sigv4

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


def presign_v4(
    *,
    method: str,
    host: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    access_key: str,
    secret_key: str,
    region: str,
    now: float,
    expires: int,
    headers: Mapping[str, str] | None = None,
    session_token: str | None = None,
) -> str:
    """`raw_path?query` with the X-Amz-* parameters of a SigV4 presigned URL signing the
    Host header and `headers` (lower-case names). `raw_path` is already URI-encoded
    (sigv4.uri_encode(keep_slash)). Temporary credentials' `session_token` goes in
    X-Amz-Security-Token, signed with the rest of the query (as the AWS SDKs presign)."""
    values = {**(headers or {}), "host": host}
    signed = sorted(values)
    amz_date = sigv4.format_amz_date(now)
    date = amz_date[:8]
    scope = sigv4.scope(date, region, "s3")
    pairs = [
        *query,
        ("X-Amz-Algorithm", sigv4.ALGORITHM),
        ("X-Amz-Credential", f"{access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", ";".join(signed)),
    ]
    if session_token is not None:
        pairs.append(("X-Amz-Security-Token", session_token))
    canonical_query = sigv4.canonical_query(pairs)
    canonical = sigv4.canonical_request(
        method,
        raw_path,
        canonical_query,
        sigv4.canonical_headers(signed, values),
        signed,
        UNSIGNED_PAYLOAD,
    )
    key = sigv4.signing_key(secret_key, date, region, "s3")
    signature = sigv4.sign(key, sigv4.string_to_sign(amz_date, scope, canonical))
    return f"{raw_path}?{canonical_query}&X-Amz-Signature={signature}"


def sign_headers_v4(
    *,
    method: str,
    host: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    body: bytes,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    now: float,
    session_token: str | None = None,
) -> dict[str, str]:
    """The Authorization, X-Amz-Date (and X-Amz-Security-Token) headers of a SigV4
    header-signed request whose payload is `body` (signed by its SHA-256, as the AWS SDKs
    sign the IAM query API's form posts). For bodies too long for a URL: the console's
    policy documents.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
    """
    amz_date = sigv4.format_amz_date(now)
    date = amz_date[:8]
    values = {"host": host, "x-amz-date": amz_date}
    if session_token is not None:
        values["x-amz-security-token"] = session_token
    signed = sorted(values)
    scope = sigv4.scope(date, region, service)
    canonical = sigv4.canonical_request(
        method,
        raw_path,
        sigv4.canonical_query(query),
        sigv4.canonical_headers(signed, values),
        signed,
        hashlib.sha256(body).hexdigest(),
    )
    key = sigv4.signing_key(secret_key, date, region, service)
    signature = sigv4.sign(key, sigv4.string_to_sign(amz_date, scope, canonical))
    headers = {
        "Authorization": f"{sigv4.ALGORITHM} Credential={access_key}/{scope},"
        f" SignedHeaders={';'.join(signed)}, Signature={signature}",
        "X-Amz-Date": amz_date,
    }
    if session_token is not None:
        headers["X-Amz-Security-Token"] = session_token
    return headers
