"""A PATCH body cut into pieces (gateway/tus/body.py)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.tus.body import PatchBody
from gateway.tus.protocol import TusError


async def chunks(*parts: bytes, fail: S3Error | None = None) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    if fail is not None:
        raise fail


async def pieces(body: PatchBody, n: int) -> list[bytes]:
    out = []
    while await body.more():
        out.append(b"".join([c async for c in body.take(n)]))
    return out


def test_pieces_cut_across_chunks() -> None:
    body = PatchBody(chunks(b"abc", b"defgh", b"ij"), limit=10)
    assert asyncio.run(pieces(body, 4)) == [b"abcd", b"efgh", b"ij"]
    assert body.received == 10
    assert not body.interrupted


def test_checksum_of_the_whole_body() -> None:
    digest = hashlib.sha1(b"abcdef").digest()
    body = PatchBody(chunks(b"abc", b"def"), limit=6, checksum=("sha1", digest))
    asyncio.run(pieces(body, 100))
    assert body.checksum_matches()
    wrong = PatchBody(chunks(b"abc", b"deX"), limit=6, checksum=("sha1", digest))
    asyncio.run(pieces(wrong, 100))
    assert not wrong.checksum_matches()


def test_past_the_limit_is_413() -> None:
    body = PatchBody(chunks(b"abc", b"def"), limit=5)
    with pytest.raises(TusError) as caught:
        asyncio.run(pieces(body, 100))
    assert caught.value.status == 413


def test_a_dropped_connection_ends_the_body_and_keeps_what_arrived() -> None:
    cut = S3Error(S3ErrorCode.INCOMPLETE_BODY)
    body = PatchBody(chunks(b"abc", fail=cut), limit=10)
    assert asyncio.run(pieces(body, 100)) == [b"abc"]
    assert body.interrupted
    other = PatchBody(chunks(b"abc", fail=S3Error(S3ErrorCode.INTERNAL_ERROR)), limit=10)
    with pytest.raises(S3Error):
        asyncio.run(pieces(other, 100))
