"""Limits on the real app (gateway/limits/): rate limits and the upload cap answer 503
SlowDown; quotas answer 403 QuotaExceeded before a byte is stored (declared sizes), at the
first byte over (bodies of unknown length), or at commit, and leave nothing stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from auth.credentials import ROOT_USER
from tests.app.client import SignedClient, signed_client


@pytest.fixture
def open_client(tmp_path: Path, aio: asyncio.Runner) -> Iterator[Any]:
    """open_client(**settings) -> a SignedClient on a fresh app with those settings."""
    managers: list[Any] = []

    def open_(**settings: Any) -> SignedClient:
        manager = signed_client(tmp_path / f"app{len(managers)}", **settings)
        managers.append(manager)
        client: SignedClient = aio.run(manager.__aenter__())
        return client

    yield open_
    for manager in reversed(managers):
        aio.run(manager.__aexit__(None, None, None))


async def stored_blobs(client: SignedClient) -> list[str]:
    return [info.blob_id async for info in client.services.backend.list_blobs()]


async def nothing_stored(client: SignedClient, bucket: str, key: str) -> None:
    """No object, no blob, no pending blob: the refused write left no trace."""
    assert (await client.request("HEAD", f"/{bucket}/{key}")).status == 404
    assert await stored_blobs(client) == []
    backlog = await client.services.meta.blob_backlog(cap=10)
    assert (backlog.pending, backlog.garbage) == (0, 0)


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# -- rate limits ----------------------------------------------------------------------------------


def test_rate_limit_per_access_key(open_client: Any, aio: asyncio.Runner) -> None:
    client = open_client(rate_limit_key="0.001:3")
    alice_key, alice_secret = aio.run(_create_key(client))

    async def run() -> None:
        for _ in range(3):
            assert (await client.request("GET", "/")).status == 200
        refused = await client.request("GET", "/")
        assert (refused.status, refused.error_code) == (503, "SlowDown")
        assert int(refused.headers["Retry-After"]) >= 1
        # Another key has its own bucket; an unsigned request has none.
        other = await client.request("GET", "/", access_key=alice_key, secret=alice_secret)
        assert other.status == 200
        assert (await client.request("GET", "/", sign=False)).status == 403

    aio.run(run())


async def _create_key(client: SignedClient) -> tuple[str, str]:
    import time

    from auth.credentials import new_access_key, new_secret_key

    await client.services.meta.create_user("alice", now=time.time())
    key = await client.services.meta.create_access_key(
        "alice", new_access_key(), new_secret_key(), now=time.time()
    )
    return key.access_key, key.secret_key


def test_rate_limit_per_source_ip(open_client: Any, aio: asyncio.Runner) -> None:
    client = open_client(rate_limit_ip="0.001:2")

    async def run() -> None:
        assert (await client.request("GET", "/", sign=False)).status == 403
        assert (await client.request("GET", "/")).status == 200
        refused = await client.request("GET", "/")  # signed or not: one address
        assert (refused.status, refused.error_code) == (503, "SlowDown")

    aio.run(run())


def test_concurrent_uploads_per_key(open_client: Any, aio: asyncio.Runner) -> None:
    client = open_client(max_uploads_per_key=1)
    slots = client.services.upload_slots
    assert slots is not None

    async def run() -> None:
        assert (await client.request("PUT", "/upl")).status == 200
        release = asyncio.Event()

        async def slow_body() -> AsyncIterator[bytes]:
            yield b"first half "
            await release.wait()
            yield b"second half"

        first = asyncio.create_task(
            client.request(
                "PUT", "/upl/slow", body=slow_body(), signed_body=b"first half second half"
            )
        )
        async with asyncio.timeout(5):
            while slots.running(client.access_key) == 0:
                await asyncio.sleep(0.005)
        refused = await client.request("PUT", "/upl/other", body=b"x")
        assert (refused.status, refused.error_code) == (503, "SlowDown")
        assert (await client.request("GET", "/upl/other")).status == 404
        assert (await client.request("GET", "/upl")).status == 200  # not an upload
        release.set()
        assert (await first).status == 200
        assert slots.running(client.access_key) == 0
        assert (await client.request("PUT", "/upl/other", body=b"x")).status == 200

    aio.run(run())


# -- quotas ---------------------------------------------------------------------------------------


def test_put_object_over_a_bucket_quota_declared(open_client: Any, aio: asyncio.Runner) -> None:
    client = open_client()
    meta = client.services.meta

    async def run() -> None:
        assert (await client.request("PUT", "/quo")).status == 200
        await meta.set_quota("bucket", "quo", 10, None)
        assert (await client.request("PUT", "/quo/a", body=b"123456")).status == 200
        blobs = await stored_blobs(client)
        over = await client.request("PUT", "/quo/b", body=b"12345")
        assert (over.status, over.error_code) == (403, "QuotaExceeded")
        assert b"10 bytes" in over.body
        assert (await client.request("HEAD", "/quo/b")).status == 404
        assert await stored_blobs(client) == blobs
        # An overwrite in an unversioned bucket frees what it replaces.
        assert (await client.request("PUT", "/quo/a", body=b"0123456789")).status == 200
        assert (await meta.quota_uses("quo"))[0].used.bytes == 10
        # Deletes always go through; then there is room again.
        assert (await client.request("DELETE", "/quo/a")).status == 204
        assert (await client.request("PUT", "/quo/b", body=b"12345")).status == 200

    aio.run(run())


def test_put_object_undeclared_size_stops_at_the_first_byte_over(
    open_client: Any, aio: asyncio.Runner
) -> None:
    client = open_client()

    async def run() -> None:
        assert (await client.request("PUT", "/unk")).status == 200
        await client.services.meta.set_quota("bucket", "unk", 1000, None)
        never = asyncio.Event()

        async def endless() -> AsyncIterator[bytes]:
            for part in (b"x" * 400, b"y" * 400, b"z" * 400):
                yield part
            await never.wait()  # the answer must come without the rest of the body
            yield b"never sent"

        async with asyncio.timeout(10):
            over = await client.request("PUT", "/unk/k", body=endless(), signed_body=b"?")
        assert (over.status, over.error_code) == (403, "QuotaExceeded")
        await nothing_stored(client, "unk", "k")
        fits = [b"x" * 500, b"y" * 500]
        ok = await client.request("PUT", "/unk/k", body=chunks(*fits), signed_body=b"".join(fits))
        assert ok.status == 200

    aio.run(run())


def test_account_quota_counts_every_bucket_and_objects(
    open_client: Any, aio: asyncio.Runner
) -> None:
    client = open_client()
    meta = client.services.meta

    async def run() -> None:
        for name in ("acc1", "acc2"):
            assert (await client.request("PUT", f"/{name}")).status == 200
        await meta.set_quota("account", ROOT_USER, None, 2)
        assert (await client.request("PUT", "/acc1/a", body=b"a")).status == 200
        assert (await client.request("PUT", "/acc2/b", body=b"b")).status == 200
        over = await client.request("PUT", "/acc2/c", body=b"c")
        assert (over.status, over.error_code) == (403, "QuotaExceeded")
        assert b"account quota of root" in over.body
        # Replacing an object adds none.
        assert (await client.request("PUT", "/acc1/a", body=b"again")).status == 200
        uses = {u.quota.scope: u for u in await meta.list_quotas()}
        assert (uses["account"].used.objects, uses["account"].used.bytes) == (2, 6)
        assert await meta.clear_quota("account", ROOT_USER)
        assert (await client.request("PUT", "/acc2/c", body=b"c")).status == 200

    aio.run(run())


def test_multipart_counts_pending_parts_and_checks_at_complete(
    open_client: Any, aio: asyncio.Runner
) -> None:
    client = open_client()
    meta = client.services.meta

    async def run() -> None:
        assert (await client.request("PUT", "/mpu")).status == 200
        await meta.set_quota("bucket", "mpu", 10 << 20, None)
        created = await client.request("POST", "/mpu/big?uploads")
        upload_id = created.body.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
        part = b"p" * (6 << 20)
        path = f"/mpu/big?uploadId={upload_id}"
        first = await client.request("PUT", f"{path}&partNumber=1", body=part)
        assert first.status == 200
        # Part 2 would take the upload past 10 MiB; replacing part 1 would not.
        over = await client.request("PUT", f"{path}&partNumber=2", body=part)
        assert (over.status, over.error_code) == (403, "QuotaExceeded")
        assert (await client.request("PUT", f"{path}&partNumber=1", body=part)).status == 200
        etag = (await client.request("PUT", f"{path}&partNumber=1", body=part)).headers["ETag"]
        # The quota shrinks meanwhile: the commit transaction refuses the completion.
        await meta.set_quota("bucket", "mpu", 1 << 20, None)
        complete = (
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
            f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
        ).encode()
        refused = await client.request("POST", path, body=complete)
        assert (refused.status, refused.error_code) == (403, "QuotaExceeded")
        assert (await client.request("HEAD", "/mpu/big")).status == 404
        assert (await meta.quota_uses("mpu"))[0].used.bytes == 0
        pending = await meta.quota_uses("mpu", upload_id=upload_id)
        assert pending[0].used.bytes == 6 << 20  # the part, still there to retry or abort
        assert (await client.request("DELETE", path)).status == 204
        assert (await meta.list_quotas())[0].used.bytes == 0

    aio.run(run())


def test_copy_object_checks_the_quota_first(open_client: Any, aio: asyncio.Runner) -> None:
    client = open_client()

    async def run() -> None:
        for name in ("src", "dst"):
            assert (await client.request("PUT", f"/{name}")).status == 200
        assert (await client.request("PUT", "/src/k", body=b"c" * 100)).status == 200
        await client.services.meta.set_quota("bucket", "dst", 99, None)
        blobs = await stored_blobs(client)
        over = await client.request("PUT", "/dst/k", headers={"x-amz-copy-source": "/src/k"})
        assert (over.status, over.error_code) == (403, "QuotaExceeded")
        assert await stored_blobs(client) == blobs

    aio.run(run())


def test_quota_limits_are_exported(open_client: Any, aio: asyncio.Runner) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from gateway.metrics.exposition import exposition, scraped_families

    client = open_client()
    meta = client.services.meta

    async def run() -> dict[str, dict[tuple[str, ...], float]]:
        assert (await client.request("PUT", "/gauge")).status == 200
        assert (await client.request("PUT", "/gauge/k", body=b"12345")).status == 200
        await meta.set_quota("bucket", "gauge", 50, None)
        await meta.set_quota("account", ROOT_USER, 1000, 10)
        text = exposition(await scraped_families(client.services)).decode()
        return {
            f.name: {tuple(s.labels.values()): s.value for s in f.samples}
            for f in text_string_to_metric_families(text)
        }

    series = aio.run(run())
    assert series["kloudvault_bucket_quota_bytes"] == {("gauge",): 50}
    assert series["kloudvault_bucket_quota_objects"] == {}
    assert series["kloudvault_account_quota_bytes"] == {(ROOT_USER,): 1000}
    assert series["kloudvault_account_quota_objects"] == {(ROOT_USER,): 10}
    assert series["kloudvault_account_bytes"] == {(ROOT_USER,): 5}
    assert series["kloudvault_account_objects"] == {(ROOT_USER,): 1}
    assert series["kloudvault_bucket_bytes"] == {("gauge",): 5}
