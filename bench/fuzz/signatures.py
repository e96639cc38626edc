"""SigV4 and SigV2: parse_auth + verify_auth, which drive every canonicalizer.

The input is a request in wire form (bench.fuzz.wire). The clock is set to the request's
own time so that the time checks pass and the canonical request / string to sign are
always built; the signature then (almost always) fails, which is SignatureDoesNotMatch.
"""

from __future__ import annotations

from auth import sigv2, sigv4
from auth.authenticate import parse_auth, verify_auth
from auth.request import SignedRequest
from bench.fuzz import wire
from bench.fuzz.harness import Target
from gateway.errors import S3Error

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def request_of(data: bytes) -> SignedRequest:
    lines, _ = wire.split_head(data)
    method, path, query = wire.request_line(lines[0])
    headers = wire.headers_of(lines[1:])
    host = headers.get("host", "")
    # Virtual-host style for "<bucket>.localhost" (what --domain localhost would resolve).
    bucket, dot, domain = host.partition(".")
    host_bucket = bucket if dot and domain.startswith("localhost") and bucket else None
    return SignedRequest(method, path, tuple(query), headers, host_bucket)


def run(data: bytes) -> None:
    req = request_of(data)
    parsed = parse_auth(req)
    if parsed is None:
        # Anonymous: still exercise the canonicalizers on what was sent.
        sigv4.canonical_query(req.query)
        sigv4.canonical_headers(sorted(req.headers), req.headers)
        sigv2.canonical_resource(req.raw_path, req.query, req.host_bucket)
        return
    if parsed.request_time is not None:
        now = parsed.request_time
    else:
        now = float((parsed.expires or 1) - 1)
    verify_auth(parsed, req, SECRET, now=now)


TOKENS = tuple(
    t.encode()
    for t in (
        "AWS4-HMAC-SHA256",
        "AWS ",
        "Credential=",
        "SignedHeaders=",
        "Signature=",
        "/aws4_request",
        "20130524",
        "20130524T000000Z",
        "X-Amz-Algorithm=",
        "X-Amz-Credential=",
        "X-Amz-Date=",
        "X-Amz-Expires=",
        "X-Amz-SignedHeaders=",
        "X-Amz-Signature=",
        "X-Amz-Content-Sha256=",
        "AWSAccessKeyId=",
        "Expires=",
        "Signature=",
        "x-amz-content-sha256: ",
        "x-amz-date: ",
        "Date: ",
        "Host: ",
        "Authorization: ",
        "UNSIGNED-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "-TRAILER",
        "?uploads",
        "&versionId=",
        "&response-content-type=",
        ".localhost",
        "Tue, 27 Mar 2007 19:36:42 +0000",
    )
)


def targets() -> list[Target]:
    # One function, two corpora: which canonicalizer runs is decided by the input's scheme.
    return [Target("sigv4", run, (S3Error,), TOKENS), Target("sigv2", run, (S3Error,), TOKENS)]
