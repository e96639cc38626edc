"""Slow and hostile clients against a real `serve` (gateway/connections.py, gateway/body.py).

Only a real listener shows these: what happens to sockets that connect and then dawdle.
The hostile connections come from 127.0.0.1 and the ordinary client from 127.0.0.2 (both
loopback on Linux), so the per-address cap shields the ordinary one as it would in the wild.
"""

from __future__ import annotations

import http.client
import resource
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.integration.conftest import GatewayFactory
from tests.support.clients import boto3_client
from tests.support.gateway import HEALTH_PATH, GatewayProcess

HEADER_TIMEOUT = 1.5
# Longer than the header timeout, so that what closes the half-open ones is ours (aiohttp's
# keep-alive timer also runs from the connect).
KEEPALIVE_TIMEOUT = 2.5
BODY_TIMEOUT = 1.0
PER_ADDRESS = 600
WANTED = 1000
PARTIAL_HEAD = b"GET /bucket/key HTTP/1.1\r\nHost: localhost\r\nX-Slow: "


@pytest.fixture(scope="module")
def gw(gateway_factory: GatewayFactory) -> GatewayProcess:
    return gateway_factory(
        extra_args=[
            "--header-timeout", str(HEADER_TIMEOUT),
            "--keepalive-timeout", str(KEEPALIVE_TIMEOUT),
            "--body-timeout", str(BODY_TIMEOUT),
            "--max-connections-per-address", str(PER_ADDRESS),
        ]
    )  # fmt: skip


def _half_open_count() -> int:
    """1,000 unless this process's descriptor limit is lower (then what it leaves room for)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(50, min(WANTED, soft - 200))


def _closed(sock: socket.socket) -> bool:
    """Whether the server has closed (or reset) this connection; never blocks."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _wait_all_closed(socks: list[socket.socket], timeout: float) -> list[socket.socket]:
    """The sockets still open after `timeout` seconds (polled, not slept through)."""
    deadline = time.monotonic() + timeout
    open_ = list(socks)
    while open_ and time.monotonic() < deadline:
        open_ = [s for s in open_ if not _closed(s)]
        if open_:
            time.sleep(0.05)
    return open_


def _ordinary_get(gw: GatewayProcess) -> tuple[int, float]:
    start = time.monotonic()
    conn = http.client.HTTPConnection(
        "127.0.0.1", gw.port, timeout=5, source_address=("127.0.0.2", 0)
    )
    try:
        conn.request("GET", HEALTH_PATH)
        status = conn.getresponse().status
    finally:
        conn.close()
    return status, time.monotonic() - start


def test_half_open_connections_do_not_starve_clients(gw: GatewayProcess) -> None:
    count = _half_open_count()
    socks: list[socket.socket] = []
    first = time.monotonic()
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
            socks.append(sock)
            try:
                sock.sendall(PARTIAL_HEAD)
            except OSError:
                pass  # refused at once: over the per-address cap
        opened = time.monotonic()
        print(f"{count} half-open connections opened in {opened - first:.2f}s")
        status, took = _ordinary_get(gw)
        assert status == 200
        assert took < 1.0, f"an ordinary client waited {took:.2f}s behind {count} half-open"
        # Past the per-address cap the server closed the rest at once; the accepted ones
        # are still held (their head deadline has not passed).
        still_open = [s for s in socks if not _closed(s)]
        assert len(still_open) == min(count, PER_ADDRESS)
        left = _wait_all_closed(still_open, KEEPALIVE_TIMEOUT - (time.monotonic() - opened))
        assert not left, f"{len(left)} half-open connections outlived the header timeout"
        assert time.monotonic() - first >= HEADER_TIMEOUT - 0.1
    finally:
        for sock in socks:
            sock.close()


def test_dribbled_head_is_closed_at_the_header_timeout(gw: GatewayProcess) -> None:
    """One header byte every 0.2 s (slowloris) does not keep resetting the deadline."""
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    try:
        start = time.monotonic()
        closed = False
        for byte in PARTIAL_HEAD + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
            if closed or _closed(sock):
                break
            time.sleep(0.2)
        else:
            pytest.fail("a dribbling client kept its connection")
        assert time.monotonic() - start < HEADER_TIMEOUT + 1.5
    finally:
        sock.close()


def test_idle_keepalive_connection_is_closed(gw: GatewayProcess) -> None:
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    try:
        sock.sendall(f"GET {HEALTH_PATH} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        start = time.monotonic()
        assert not _wait_all_closed([sock], KEEPALIVE_TIMEOUT + 2.0)
        assert time.monotonic() - start >= KEEPALIVE_TIMEOUT - 0.3
    finally:
        sock.close()


def test_stalled_body_is_request_timeout(gw: GatewayProcess) -> None:
    s3 = boto3_client(gw)
    s3.create_bucket(Bucket="stalled")
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "stalled", "Key": "k"}, ExpiresIn=300
    )
    parts = urlsplit(url)
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=BODY_TIMEOUT + 5)
    try:
        head = (
            f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Length: 100\r\n\r\n"
        )
        sock.sendall(head.encode() + b"x" * 10)  # ...and then nothing
        answer = b""
        while b"</Error>" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
        assert b"<Code>RequestTimeout</Code>" in answer
    finally:
        sock.close()
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket="stalled", Key="k")
