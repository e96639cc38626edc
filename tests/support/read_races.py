"""Readers racing a writer: no read that starts after a write has returned, with no other
write begun meanwhile, returns what that write replaced. For the metadata caches
(gateway/meta/bucket_cache.py, gateway/meta/version_cache.py) on every database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from gateway.meta.base import MetaStore


async def reads_never_go_back(
    stores: Sequence[MetaStore],
    read: Callable[[MetaStore], Awaitable[str]],
    write: Callable[[int], Awaitable[str]],
    *,
    writes: int,
    first: str,
) -> int:
    """Two readers on each of `stores` read all the time while `write(i)` runs for i in
    1..writes, each returning what it wrote (`first`: what is there before). Returns how
    many reads were checked (some must be)."""
    started = acked = 0
    written = first
    checked = 0
    stop = False

    async def read_all_the_time(store: MetaStore) -> None:
        nonlocal checked
        while not stop:
            before, seen = (started, acked), written
            found = await read(store)
            if before[0] == before[1] == started:
                assert found == seen
                checked += 1
            await asyncio.sleep(0)

    readers = [asyncio.create_task(read_all_the_time(s)) for s in list(stores) * 2]
    try:
        for i in range(1, writes + 1):
            started += 1
            new = await write(i)
            acked, written = acked + 1, new
            await asyncio.sleep(0.005)
    finally:
        stop = True
        await asyncio.gather(*readers)
    return checked
