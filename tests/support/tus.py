"""A client for the tus endpoint (/_kv/tus/): creation URLs presigned by botocore (an
implementation of SigV4 independent of ours) and plain HTTP requests."""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_TYPE = {"Content-Type": "application/offset+octet-stream"}


def creation_url(
    endpoint: str,
    keys: tuple[str, str],
    bucket: str,
    key: str,
    *,
    region: str = "us-east-1",
    expires: int = 3600,
    token: str | None = None,
) -> str:
    """A SigV4-presigned POST /_kv/tus/<bucket>/<key>: what a server hands a browser."""
    url = f"{endpoint.rstrip('/')}/_kv/tus/{bucket}/{quote(key, safe='/')}"
    request = AWSRequest(method="POST", url=url)
    S3SigV4QueryAuth(Credentials(*keys, token), "s3", region, expires=expires).add_auth(request)
    return str(request.url)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def send(
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    *,
    context: ssl.SSLContext | None = None,
) -> Answer:
    parts = urlsplit(url)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.netloc, timeout=30, context=context)
    else:
        conn = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        reply = conn.getresponse()
        return Answer(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
    finally:
        conn.close()
