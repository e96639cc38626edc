"""Share links in the MetaStore (gateway/meta/shares.py), on every METASTORE_FACTORIES
entry: stored by token hash, listed per account and IAM user, revoked, and counted by an
atomic claim that never passes max_downloads however many claims race."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from gateway.meta.base import Bucket, MetaStore, ShareLink

NOW = 1_700_000_000.0


def link(bucket: str, *, iam_user: str | None = None, **fields: object) -> ShareLink:
    values: dict[str, object] = {
        "link_id": "sl-" + secrets.token_hex(8),
        "token_hash": secrets.token_hex(32),
        "account": "alice",
        "iam_user": iam_user,
        "bucket": bucket,
        "key": "k",
        "version_id": None,
        "created": NOW,
        "expires": NOW + 3600,
        **fields,
    }
    return ShareLink(**values)  # type: ignore[arg-type]


async def setup(store: MetaStore) -> None:
    await store.create_user("alice", now=NOW)
    await store.create_iam_user("alice", "bob", path="/", user_id="AIDABOB", now=NOW)
    await store.create_bucket(Bucket("b", "alice", NOW))


def test_share_links_round_trip_list_and_revoke(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        store = metastore
        await setup(store)
        mine = link("b", created=NOW, version_id="v1", max_downloads=3)
        bobs = link("b", iam_user="bob", created=NOW + 1)
        await store.create_share_link(mine)
        await store.create_share_link(bobs)
        assert await store.get_share_link(mine.token_hash) == mine
        assert await store.get_share_link("0" * 64) is None
        with pytest.raises(KeyError):
            await store.create_share_link(link("b", link_id=mine.link_id))

        assert await store.list_share_links("alice") == [bobs, mine]  # newest first
        assert await store.list_share_links("alice", "bob") == [bobs]
        assert await store.list_share_links("nobody") == []

        # An IAM user revokes only its own links; the account any of them.
        assert await store.revoke_share_link("alice", mine.link_id, "bob") is None
        assert await store.revoke_share_link("other", mine.link_id) is None
        revoked = await store.revoke_share_link("alice", mine.link_id)
        assert revoked is not None and revoked.revoked and revoked.state(NOW) == "revoked"
        by_bob = await store.revoke_share_link("alice", bobs.link_id, "bob")
        assert by_bob is not None and by_bob.revoked
        assert await store.claim_share_download(mine.token_hash, NOW) == (revoked, False)

        # A deleted IAM user takes its links with it.
        await store.delete_iam_user("alice", "bob")
        assert await store.list_share_links("alice") == [revoked]

    aio.run(body())


def test_claims_count_expire_and_never_pass_the_limit(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        store = metastore
        await setup(store)
        limited = link("b", max_downloads=5)
        await store.create_share_link(limited)
        results = await asyncio.gather(
            *(store.claim_share_download(limited.token_hash, NOW) for _ in range(12))
        )
        assert sum(counted for _, counted in results) == 5
        stored = await store.get_share_link(limited.token_hash)
        assert stored is not None and stored.downloads == 5 and stored.state(NOW) == "exhausted"

        unlimited = link("b", expires=NOW + 10)
        await store.create_share_link(unlimited)
        claimed, counted = await store.claim_share_download(unlimited.token_hash, NOW + 9)
        assert counted and claimed is not None and claimed.downloads == 1
        late, counted = await store.claim_share_download(unlimited.token_hash, NOW + 10)
        assert not counted and late is not None and late.state(NOW + 10) == "expired"
        assert await store.claim_share_download("f" * 64, NOW) == (None, False)

        await store.delete_bucket("b")  # empty: its links go with it
        assert await store.list_share_links("alice") == []

    aio.run(body())
