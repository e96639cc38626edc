"""`Expect: 100-continue` on a raw socket: a request that cannot succeed gets its final
error (403, 404) instead of the interim 100, so the client never sends the body; one that
may proceed gets 100 Continue first, when the operation starts reading the body
(RFC 9110 §10.1.1; gateway/expect.py)."""

from __future__ import annotations

import hashlib
import socket
from typing import Any

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.app.server import AppServer

BODY = b"0123456789" * 100


def _head(gateway: AppServer, path: str, *, sign: bool, secret: str | None = None) -> bytes:
    """The request head of `PUT path` with Expect: 100-continue, optionally SigV4-signed."""
    headers = {
        "Host": gateway.netloc,
        "Content-Length": str(len(BODY)),
        "Expect": "100-continue",
        "x-amz-content-sha256": hashlib.sha256(BODY).hexdigest(),
    }
    if sign:
        request = AWSRequest(method="PUT", url=gateway.endpoint + path, data=BODY, headers=headers)
        creds = Credentials(gateway.access_key, secret or gateway.secret_key)
        S3SigV4Auth(creds, "s3", gateway.region).add_auth(request)
        headers = dict(request.headers.items())
    lines = [f"PUT {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _exchange(gateway: AppServer, head: bytes) -> tuple[bytes, bool]:
    """Send the head, wait for the server's first answer; send the body only on a 100.

    Returns (the final response's bytes, whether the body was sent)."""
    with socket.create_connection((gateway.host, gateway.port), timeout=10) as sock:
        sock.sendall(head)
        first = _read_response(sock)
        if not first.startswith(b"HTTP/1.1 100 "):
            return first, False
        sock.sendall(BODY)
        return _read_response(sock), True


def _read_response(sock: socket.socket) -> bytes:
    """One response (head, and its body when it declares a Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def test_expect_continue_refused_before_the_body(gateway: AppServer, s3: Any, bucket: str) -> None:
    # Anonymous: AccessDenied, decided before the body.
    reply, sent = _exchange(gateway, _head(gateway, f"/{bucket}/k", sign=False))
    assert (reply.split(b"\r\n", 1)[0], sent) == (b"HTTP/1.1 403 Forbidden", False)
    assert b"<Code>AccessDenied</Code>" in reply
    assert b"connection: close" in reply.lower()
    # A bad signature: 403 SignatureDoesNotMatch.
    reply, sent = _exchange(gateway, _head(gateway, f"/{bucket}/k", sign=True, secret="x" * 40))
    assert (reply.split(b"\r\n", 1)[0], sent) == (b"HTTP/1.1 403 Forbidden", False)
    assert b"<Code>SignatureDoesNotMatch</Code>" in reply
    # A bucket that does not exist: 404 NoSuchBucket.
    reply, sent = _exchange(gateway, _head(gateway, f"/{bucket}-none/k", sign=True))
    assert (reply.split(b"\r\n", 1)[0], sent) == (b"HTTP/1.1 404 Not Found", False)
    assert b"<Code>NoSuchBucket</Code>" in reply
    # What the operation refuses before reading the body is answered without it too.
    part = f"/{bucket}/k?partNumber=1&uploadId={'0' * 48}"
    reply, sent = _exchange(gateway, _head(gateway, part, sign=True))
    assert (reply.split(b"\r\n", 1)[0], sent) == (b"HTTP/1.1 404 Not Found", False)
    assert b"<Code>NoSuchUpload</Code>" in reply
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_expect_continue_then_body(gateway: AppServer, s3: Any, bucket: str) -> None:
    reply, sent = _exchange(gateway, _head(gateway, f"/{bucket}/k", sign=True))
    assert (reply.split(b"\r\n", 1)[0], sent) == (b"HTTP/1.1 200 OK", True), reply[-300:]
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == BODY
