"""backends.streamed: known-length parts fed from a stream, without buffering a part."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import AsyncIterator

import pytest

from backends.base import BackendError
from backends.streamed import PartBody, PartSource, body_errors, part_lengths

MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("size", "part", "max_parts", "expected"),
    [
        (0, 8, 10, [0]),
        (1, 8, 10, [1]),
        (8, 8, 10, [8]),
        (9, 8, 10, [8, 1]),
        (24, 8, 10, [8, 8, 8]),
        (25 * MiB, 8 * MiB, 10_000, [8 * MiB] * 3 + [MiB]),
        (100, 8, 4, [25] * 4),  # parts grow so that max_parts suffice
        (101, 8, 4, [26, 26, 26, 23]),
    ],
)
def test_part_lengths(size: int, part: int, max_parts: int, expected: list[int]) -> None:
    assert part_lengths(size, part, max_parts) == expected
    assert sum(expected) == size and len(expected) <= max_parts


async def chunks(data: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    offset = i = 0
    while offset < len(data):
        n = sizes[i % len(sizes)]
        yield data[offset : offset + n]
        offset += n
        i += 1


async def send(body: PartBody) -> list[bytes | memoryview]:
    return [chunk async for chunk in body]


@pytest.mark.parametrize("seed", range(5))
def test_parts_cut_the_stream_exactly(seed: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(rng.randrange(1, 5000))
    sizes = [rng.randrange(0, 700) for _ in range(7)] + [1]
    lengths = part_lengths(len(data), rng.randrange(1, 900), 10_000)

    async def run() -> None:
        source = PartSource(chunks(data, sizes), len(data), "b")
        got = []
        for i, n in enumerate(lengths):
            pieces = await send(source.part(n, last=i == len(lengths) - 1))
            assert all(pieces), "no empty chunks"
            assert max(len(p) for p in pieces) <= max(sizes)  # passed on, never joined
            got.append(b"".join(pieces))
            assert len(got[-1]) == n
        assert b"".join(got) == data

    asyncio.run(run())


def test_short_stream_fails_the_part() -> None:
    async def run() -> None:
        body = PartSource(chunks(b"x" * 10, [3]), 11, "blob").part(11, last=True)
        with pytest.raises(BackendError, match="ended before 11"):
            await send(body)
        assert isinstance(body.error, BackendError)

    asyncio.run(run())


def test_last_part_checks_the_end_before_its_final_bytes() -> None:
    """Extra bytes, or an error the stream raises at its end, surface before the last
    chunk is handed to the HTTP client (which would complete the request)."""

    async def failing_at_end() -> AsyncIterator[bytes]:
        yield b"abc"
        yield b"def"
        raise ValueError("bad signature")

    async def run() -> None:
        body = PartSource(failing_at_end(), 6, "b").part(6, last=True)
        handed: list[bytes | memoryview] = []
        with pytest.raises(ValueError):
            async for chunk in body:
                handed.append(chunk)
        assert handed == [b"abc"]
        longer = PartSource(chunks(b"abcdefg", [6, 1]), 6, "b").part(6, last=True)
        with pytest.raises(BackendError, match="more than 6"):
            await send(longer)

    asyncio.run(run())


def test_a_part_is_sent_once() -> None:
    body = PartSource(chunks(b"abc", [3]), 3, "b").part(3, last=True)
    assert body.seek(0) == 0  # before the first byte a retry may still rewind
    with pytest.raises(io.UnsupportedOperation):
        body.read()
    asyncio.run(send(body))
    with pytest.raises(io.UnsupportedOperation):
        body.seek(0)
    with pytest.raises(io.UnsupportedOperation):
        body.__aiter__()


def test_body_errors_reraise_the_stream_error() -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"a"
        raise KeyError("client went away")

    async def run() -> None:
        body = PartSource(failing(), 5, "b").part(5, last=True)
        with pytest.raises(KeyError), body_errors(body):
            try:
                await send(body)
            except KeyError as exc:  # what an HTTP client does with its body's error
                raise ConnectionError("cannot write request body") from exc

    asyncio.run(run())
