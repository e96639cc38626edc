"""events/scan/clamd.py against a real clamd (tests/support/clamd.py): INSTREAM over TCP
and a unix socket, a signature split across chunks, StreamMaxLength, clamd down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

import pytest

from events.scan.clamd import ClamdClient
from events.scan.protocol import Clean, Infected, ScanFailed, parse_url
from tests.support.clamd import EICAR, FOUND_AS, STREAM_MAX, Clamd, session_clamd
from tests.support.ports import free_port


@pytest.fixture
def clamd(request: pytest.FixtureRequest) -> Clamd:
    return session_clamd(request.config)


async def chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def scan(url: str, parts: Iterable[bytes]) -> object:
    client = ClamdClient(parse_url(url), timeout=10)
    return asyncio.run(client.scan(chunks(parts)))


def test_clean_and_infected_over_tcp_and_unix_socket(clamd: Clamd) -> None:
    for url in (clamd.tcp_url, clamd.unix_url):
        assert scan(url, [b"hello ", b"world"]) == Clean()
        assert scan(url, []) == Clean()  # an empty object is scanned too
        assert scan(url, [EICAR]) == Infected(FOUND_AS)


def test_signature_split_across_chunks(clamd: Clamd) -> None:
    body = b"a" * 70_000 + EICAR + b"b" * 1000
    pieces = [body[i : i + 7] for i in range(69_990, 70_100, 7)]
    assert scan(clamd.tcp_url, [body[:69_990], *pieces, body[70_100:]]) == Infected(FOUND_AS)


def test_stream_max_length_is_a_failure_not_clean(clamd: Clamd) -> None:
    block = b"\0" * (1024 * 1024)
    verdict = scan(clamd.tcp_url, [block] * (STREAM_MAX // len(block) + 2))
    assert isinstance(verdict, ScanFailed), verdict
    assert verdict.too_large and verdict.permanent


def test_clamd_down_is_a_failure() -> None:
    for url in (f"clamd://127.0.0.1:{free_port()}", "clamd:///nonexistent/clamd.sock"):
        verdict = scan(url, [b"x"])
        assert isinstance(verdict, ScanFailed) and not verdict.permanent, verdict
