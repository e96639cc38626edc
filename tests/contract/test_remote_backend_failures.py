"""The remote backends when their server crashes, hangs and comes back.

Each backend kind gets a server of its own for this module (the session's shared servers
are never killed), and backends with short timeouts and one retry, so that every failure
surfaces in a few seconds. What must hold:

- with the server killed, every operation raises BackendUnavailable, and promptly: an
  operation still running after HANG_LIMIT seconds fails the test as a hang;
- once the server is back on the same data, the same backend object works again, and
  blobs written before the crash read back intact;
- a put_blob cut by the crash raises, and after the restart nothing is listed or readable
  under its id: the multipart upload (s3) or the staged blocks (azure) never completed;
- a read cut by the crash raises instead of ending early with a truncated blob;
- with the server frozen (SIGSTOP: connections open, no answers) the timeouts fire.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from backends.base import Backend, BackendError, BackendUnavailable, BlobNotFound
from tests.support.azurite import Azurite, start_azurite
from tests.support.remote_backends import azure_backend_on, s3_backend_on
from tests.support.seaweedfs import SeaweedFS, start_seaweedfs

if TYPE_CHECKING:
    from backends.azure import AzureBackend
    from backends.s3 import S3Backend

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
HANG_LIMIT = 30.0  # seconds; the configured timeouts and retries take a few at most
T = TypeVar("T")


@dataclass
class Peer:
    kind: str
    server: SeaweedFS | Azurite
    part_size: int  # multipart part (s3) or staged block (azure) size

    def backend(self, prefix: str | None = None, **options: Any) -> S3Backend | AzureBackend:
        """A backend with short timeouts and a single retry, on `prefix` (default: a fresh
        namespace)."""
        short = {"connect_timeout": 1.0, "read_timeout": 2.0, "max_attempts": 2}
        prefix = f"t-{random.getrandbits(48):012x}/" if prefix is None else prefix
        if isinstance(self.server, SeaweedFS):
            return s3_backend_on(
                self.server,
                bucket="kv-failures",
                prefix=prefix,
                **{"part_size": self.part_size, **short, **options},
            )
        return azure_backend_on(
            self.server,
            container="kv-failures",
            prefix=prefix,
            **{
                "block_size": self.part_size,
                "read_chunk_size": MiB,
                "retry_backoff": 0.1,
                **short,
                **options,
            },
        )


@pytest.fixture(scope="module", params=["s3", "azure"])
def peer(request: pytest.FixtureRequest) -> Iterator[Peer]:
    if request.param == "s3":
        found = Peer("s3", start_seaweedfs(), part_size=5 * MiB)  # S3's minimum part size
    else:
        found = Peer("azure", start_azurite(), part_size=1 * MiB)
    try:
        # Create the bucket / container once, durably (Azurite saves its metadata only
        # every few seconds), so that every test may crash the server right away. The
        # first write into a new SeaweedFS bucket can take seconds (it grows the bucket's
        # volumes), longer than the short timeouts of the tests: write once here.
        asyncio.run(_warm_up(found.backend(read_timeout=30.0)))
        found.server.wait_durable()
        yield found
    finally:
        found.server.close()


async def _warm_up(backend: S3Backend | AzureBackend) -> None:
    await backend.put_blob("warm-up", stream(b"x"))
    await backend.delete_blob("warm-up")
    await backend.close()


@pytest.fixture
def server(peer: Peer) -> Iterator[SeaweedFS | Azurite]:
    """The peer's server, running again after the test whatever the test did to it."""
    yield peer.server
    peer.server.thaw()
    if not peer.server.running:
        peer.server.start()


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


async def stream(data: bytes, chunk: int = 256 * 1024) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), chunk):
        yield data[offset : offset + chunk]
        await asyncio.sleep(0)


async def read_all(backend: Backend, blob_id: str) -> bytes:
    return b"".join([chunk async for chunk in backend.get_blob(blob_id)])


async def listed(backend: Backend) -> dict[str, int]:
    return {info.blob_id: info.size async for info in backend.list_blobs()}


async def bounded(what: str, operation: Awaitable[T]) -> T:
    try:
        return await asyncio.wait_for(operation, HANG_LIMIT)
    except TimeoutError:
        pytest.fail(f"{what} still running after {HANG_LIMIT:.0f}s: a hang, not a failure")


async def assert_unavailable(what: str, operation: Callable[[], Awaitable[object]]) -> None:
    with pytest.raises(BackendUnavailable):
        await bounded(what, operation())


async def back_up(backend: Backend, blob_id: str) -> None:
    """Wait until the restarted server reads `blob_id` again: SeaweedFS answers ListBuckets
    (its readiness probe) and HeadBucket before its volume server has re-registered, and
    reads meanwhile fail with 500 for a few seconds on a loaded machine."""
    deadline = asyncio.get_running_loop().time() + HANG_LIMIT
    while True:
        try:
            await bounded("first read", read_all(backend, blob_id))
            return
        except BackendError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


def test_killed_peer_operations_unavailable_then_recover(
    peer: Peer, server: SeaweedFS | Azurite, aio: asyncio.Runner
) -> None:
    small, large = payload(100_000, seed=1), payload(2 * peer.part_size + 12_345, seed=2)
    backend = peer.backend()

    async def before_crash() -> None:
        assert await backend.put_blob("small", stream(small)) == len(small)
        assert await backend.put_blob("large", stream(large)) == len(large)

    async def while_down() -> None:
        # Concurrently: each one waits out its own retries and backoff.
        await asyncio.gather(
            assert_unavailable("health", backend.health),
            assert_unavailable("put_blob", lambda: backend.put_blob("new", stream(small))),
            assert_unavailable("get_blob", lambda: anext(backend.get_blob("small"))),
            assert_unavailable("blob_size", lambda: backend.blob_size("small")),
            assert_unavailable("delete_blob", lambda: backend.delete_blob("small")),
            assert_unavailable("list_blobs", lambda: listed(backend)),
        )

    async def after_restart() -> None:
        await back_up(backend, "small")
        await bounded("health", backend.health())
        assert await bounded("get small", read_all(backend, "small")) == small
        assert await bounded("get large", read_all(backend, "large")) == large
        assert await backend.put_blob("after", stream(small)) == len(small)
        assert await listed(backend) == {
            "small": len(small),
            "large": len(large),
            "after": len(small),
        }
        await backend.close()

    aio.run(before_crash())
    server.wait_durable()
    server.kill()
    aio.run(while_down())
    server.start()
    aio.run(after_restart())


def test_put_blob_cut_by_crash_leaves_no_blob(
    peer: Peer, server: SeaweedFS | Azurite, aio: asyncio.Runner
) -> None:
    data = payload(4 * peer.part_size, seed=3)
    backend = peer.backend()

    async def crashing_stream() -> AsyncIterator[bytes]:
        """The body of an upload during which the server dies, once the upload is under
        way: put_blob reads two parts before it starts, then uploads part 1 while it reads
        part 2 and part 2 while it reads part 3, which is when the crash comes."""
        sent = 0
        async for chunk in stream(data):
            if sent >= 2 * peer.part_size + 1 and server.running:
                server.kill()
            sent += len(chunk)
            yield chunk

    async def upload() -> None:
        await backend.start()
        with pytest.raises(BackendUnavailable):
            await bounded("put_blob", backend.put_blob("cut", crashing_stream()))

    async def after_restart() -> None:
        assert "cut" not in await listed(backend)
        with pytest.raises(BlobNotFound):
            await read_all(backend, "cut")
        with pytest.raises(BlobNotFound):
            await backend.blob_size("cut")
        # The id is still usable, through the multipart path again.
        assert await backend.put_blob("cut", stream(data)) == len(data)
        assert await read_all(backend, "cut") == data
        await backend.close()

    aio.run(upload())
    assert not server.running
    server.start()
    aio.run(after_restart())


def test_put_blob_slower_than_read_timeout_succeeds(
    peer: Peer, server: SeaweedFS | Azurite, aio: asyncio.Runner
) -> None:
    """A client that uploads slowly is not the store being slow: a blob of known size
    whose stream takes longer than the read timeout (2 s here) is stored. The read timeout
    counts from the end of the body (s3: one PutObject for the whole blob)."""
    data = payload(2 * peer.part_size + 12_345, seed=7)
    backend = peer.backend()

    async def slow_stream() -> AsyncIterator[bytes]:
        pieces = [
            data[at : at + len(data) // 6 + 1] for at in range(0, len(data), len(data) // 6 + 1)
        ]
        for piece in pieces:
            await asyncio.sleep(0.6)  # 3.6 s in all
            yield piece

    async def body() -> None:
        stored = await bounded("put_blob", backend.put_blob("slow", slow_stream(), len(data)))
        assert stored == len(data)
        assert await read_all(backend, "slow") == data
        await backend.delete_blob("slow")
        await backend.close()

    aio.run(body())


def test_get_blob_cut_by_crash_raises(
    peer: Peer, server: SeaweedFS | Azurite, aio: asyncio.Runner
) -> None:
    # Larger than what the loopback socket buffers and the SDK's read-ahead can hold, so
    # the reader cannot get the whole blob before the crash.
    data = payload(32 * MiB, seed=4)
    backend = peer.backend()

    async def body() -> int:
        await backend.put_blob("blob", stream(data, MiB))
        received = 0
        with pytest.raises(BackendUnavailable):
            async for chunk in backend.get_blob("blob"):
                if received == 0:
                    server.kill()
                received += len(chunk)
                await asyncio.sleep(0)
        return received

    received = aio.run(bounded("get_blob", body()))
    assert 0 < received < len(data)
    server.start()
    aio.run(backend.close())


def test_frozen_peer_operations_time_out(
    peer: Peer, server: SeaweedFS | Azurite, aio: asyncio.Runner
) -> None:
    prefix = f"t-{random.getrandbits(48):012x}/"
    backend = peer.backend(prefix, read_timeout=1.0, max_attempts=1)

    async def body() -> None:
        # Stored with the default timeouts: a peer's first write to a new namespace may
        # take longer than the one-second read timeout this test is about.
        setup = peer.backend(prefix)
        await setup.put_blob("blob", stream(b"x" * 1000))
        await setup.close()
        server.freeze()
        try:
            await asyncio.gather(
                assert_unavailable("health", backend.health),
                assert_unavailable("blob_size", lambda: backend.blob_size("blob")),
                assert_unavailable("get_blob", lambda: anext(backend.get_blob("blob"))),
            )
        finally:
            server.thaw()
        assert await bounded("get after thaw", read_all(backend, "blob")) == b"x" * 1000
        await backend.close()

    aio.run(body())


class ClientGone(Exception):
    pass


@pytest.mark.parametrize("how", ["cancelled", "stream_raised"])
def test_put_blob_abandoned_mid_upload_aborts_it(
    peer: Peer, server: SeaweedFS | Azurite, aio: asyncio.Runner, how: str
) -> None:
    """A client that hangs up mid-upload (the request task is cancelled, or the body
    stream raises) leaves no blob and, on S3, no multipart upload: the abort runs to its
    end even while the task is being cancelled."""
    backend = peer.backend()
    blob_id = f"abandoned-{how}"
    three_parts_sent = asyncio.Event()

    async def abandoned_stream() -> AsyncIterator[bytes]:
        async for chunk in stream(payload(3 * peer.part_size, seed=5)):
            yield chunk
        three_parts_sent.set()
        await asyncio.sleep(0.5)  # let the parts read so far reach the server
        if how == "stream_raised":
            raise ClientGone
        await asyncio.Event().wait()  # the client stops sending; the request is cancelled
        yield b""

    async def body() -> None:
        task = asyncio.create_task(backend.put_blob(blob_id, abandoned_stream()))
        await bounded("upload start", three_parts_sent.wait())
        if how == "cancelled":
            await asyncio.sleep(0.5)
            task.cancel()
        with pytest.raises(asyncio.CancelledError if how == "cancelled" else ClientGone):
            await bounded("put_blob", task)
        assert blob_id not in await listed(backend)
        with pytest.raises(BlobNotFound):
            await backend.blob_size(blob_id)
        await backend.close()

    aio.run(body())
    if isinstance(server, SeaweedFS):
        client = server.client()
        uploads = client.list_multipart_uploads(Bucket="kv-failures").get("Uploads", [])
        client.close()
        assert [u["Key"] for u in uploads if u["Key"].endswith(f"/{blob_id}")] == []
