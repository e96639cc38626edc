"""The malware scan's pending list in the MetaStore (gateway/meta/scans.py, migration 0014),
on every METASTORE_FACTORIES entry: added once, claimed under a lease (never twice at
once, however many claims race), retried with a count, dropped, and gone with its bucket."""

from __future__ import annotations

import asyncio

from gateway.meta.base import Bucket, MetaStore

NOW = 1_700_000_000.0
LEASE = 300.0


async def setup(store: MetaStore) -> None:
    await store.create_user("alice", now=NOW)
    await store.create_bucket(Bucket("b", "alice", NOW))


def test_pending_scans_claim_retry_drop(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        store = metastore
        await setup(store)
        await store.add_pending_scan("b", "k1", "null", now=NOW, due=NOW)
        await store.add_pending_scan("b", "k2", "v2", now=NOW + 1, due=NOW + 1)
        await store.add_pending_scan("b", "k1", "null", now=NOW + 5, due=NOW + 50)  # kept
        await store.add_pending_scan("b", "later", "v3", now=NOW, due=NOW + 100)

        claimed = await store.claim_pending_scans(NOW + 1, NOW + 1 + LEASE, 10)
        assert [(p.key, p.version_id, p.enqueued, p.due) for p in claimed] == [
            ("k1", "null", NOW, NOW + 1 + LEASE),
            ("k2", "v2", NOW + 1, NOW + 1 + LEASE),
        ]
        assert await store.claim_pending_scans(NOW + 2, NOW + 2 + LEASE, 10) == []  # leased

        await store.retry_pending_scan("b", "k1", "null", NOW + 10)
        await store.drop_pending_scan("b", "k2", "v2")
        await store.drop_pending_scan("b", "missing", "null")  # nothing to drop: no error
        again = await store.claim_pending_scans(NOW + 10, NOW + 10 + LEASE, 10)
        assert [(p.key, p.attempts) for p in again] == [("k1", 1)]

        # A lease that ran out (a process died mid-scan) lets the row be claimed again.
        late = await store.claim_pending_scans(NOW + 10 + LEASE, NOW + 20 + LEASE, 10)
        assert sorted(p.key for p in late) == ["k1", "later"]

        await store.delete_bucket("b")  # empty: its pending scans go with it
        assert await store.claim_pending_scans(NOW + 1e6, NOW + 2e6, 10) == []

    aio.run(body())


def test_concurrent_claims_never_share_a_row(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        store = metastore
        await setup(store)
        for i in range(20):
            await store.add_pending_scan("b", f"k{i:02d}", "null", now=NOW + i, due=NOW)
        claimed: list[str] = []
        while True:
            # A claim that lost a race for its rows may come back short, never overlapping.
            batches = await asyncio.gather(
                *(store.claim_pending_scans(NOW, NOW + LEASE, 7) for _ in range(4))
            )
            keys = [p.key for batch in batches for p in batch]
            if not keys:
                break
            claimed += keys
        assert sorted(claimed) == [f"k{i:02d}" for i in range(20)]  # each once

    aio.run(body())
