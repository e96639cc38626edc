"""Hashing a body as it streams, in a worker thread behind it (MD5 for the ETag and the
x-amz-checksum-* in gateway.writepath, a signed payload's SHA-256 in gateway.body).

hashlib and awscrt release the GIL on large buffers, so hashing a batch (1 MiB, or less
when many uploads are in progress: backends.buffering) in a thread overlaps with socket
reads, disk writes and the other hashes instead of stalling the event loop (one core
hashing SHA-256 while the other hashes MD5, for a signed PUT).
Chunks are passed on at once and hashed as they are, never joined.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable

from backends.buffering import UPLOADS

# A last batch this small is hashed inline: a thread hop would cost more.
_INLINE_HASH_LIMIT = 64 * 1024

Update = Callable[[list[bytes]], None]  # feeds a batch of chunks, in order, to the hashes


async def hashed_behind(source: AsyncIterable[bytes], update: Update) -> AsyncIterator[bytes]:
    """The chunks of `source`, passed on at once and hashed behind them in a worker thread.

    Hashing batch N overlaps with the consumer handling it and with receiving batch N+1;
    at most one batch is being hashed at a time, so `update` sees the chunks in order. The
    iterator ends only once every chunk is hashed, so a consumer that reached its end can
    read the digests.
    """
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[None] | None = None
    batch: list[bytes] = []
    batch_size = 0
    try:
        async for chunk in source:
            batch.append(chunk)
            batch_size += len(chunk)
            yield chunk  # immutable bytes: safe to hand on while a thread reads them
            if batch_size >= UPLOADS.batch_size():
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(None, update, batch)
                batch, batch_size = [], 0
                if not UPLOADS.pipelined():  # many uploads: hold one batch each
                    await pending
        if pending is not None:
            await pending
            pending = None
        if batch_size > _INLINE_HASH_LIMIT:
            await asyncio.to_thread(update, batch)
        else:
            update(batch)
    finally:
        if pending is not None and not pending.done():
            # Abandoned (failure or cancellation): the thread finishes on its own.
            pending.add_done_callback(lambda f: None if f.cancelled() else f.exception())
