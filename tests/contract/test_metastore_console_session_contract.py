"""Console sessions in the MetaStore (gateway/meta/console_sessions.py), on every
METASTORE_FACTORIES entry: stored by token hash, touched, deleted on sign-out, purged once
past their expiry, and gone with their access key."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace

import pytest

from gateway.meta.base import ConsoleSession, MetaStore, StsSession

NOW = 1_700_000_000.0


def session(
    access_key: str, *, iam_user: str | None = None, expires: float = NOW + 3600
) -> ConsoleSession:
    return ConsoleSession(
        token_hash=secrets.token_hex(32),
        access_key=access_key,
        account="alice",
        iam_user=iam_user,
        created=NOW,
        last_seen=NOW,
        expires=expires,
    )


def test_console_sessions_round_trip(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        store = metastore
        await store.create_user("alice", now=NOW)
        await store.create_access_key("alice", "KVALICE", "secret", now=NOW)
        await store.create_iam_user("alice", "bob", path="/", user_id="AIDABOB", now=NOW)
        await store.create_user_access_key("alice", "bob", "KVBOB", "secret2", now=NOW)
        mine = session("KVALICE")
        bobs = session("KVBOB", iam_user="bob")
        stale = session("KVALICE", expires=NOW + 10)
        await store.create_console_session(stale, NOW)
        await store.create_console_session(mine, NOW)
        await store.create_console_session(bobs, NOW)
        assert await store.get_console_session(mine.token_hash) == mine
        assert await store.get_console_session("0" * 64) is None
        with pytest.raises(KeyError):
            await store.create_console_session(mine, NOW)

        await store.touch_console_session(mine.token_hash, NOW + 100)
        touched = await store.get_console_session(mine.token_hash)
        assert touched is not None and touched.last_seen == NOW + 100
        await store.touch_console_session(mine.token_hash, NOW + 50)  # never moves back
        touched = await store.get_console_session(mine.token_hash)
        assert touched is not None and touched.last_seen == NOW + 100

        # A sign-in after `stale` expired purges it.
        await store.create_console_session(session("KVALICE"), NOW + 20)
        assert await store.get_console_session(stale.token_hash) is None

        assert await store.delete_console_session(mine.token_hash) is True
        assert await store.delete_console_session(mine.token_hash) is False
        assert await store.get_console_session(mine.token_hash) is None

        # Deleting the key ends its sessions.
        assert await store.delete_access_key("KVBOB")
        assert await store.get_console_session(bobs.token_hash) is None

    aio.run(body())


def test_console_session_of_sts_credentials(metastore: MetaStore, aio: asyncio.Runner) -> None:
    """A single sign-on session acts as an STS session's key and keeps its (sealed) token
    (migration 0016); it goes when the STS session row does."""

    async def body() -> None:
        store = metastore
        await store.create_user("alice", now=NOW)
        sts = StsSession(
            "ASIAALICE", "secret", "ab" * 32, "alice", None, None, None, None, "arn:x",
            NOW, NOW + 900,
        )  # fmt: skip
        await store.create_sts_session(sts)
        mine = replace(session("ASIAALICE"), session_token="sealed-token", expires=NOW + 900)
        await store.create_console_session(mine, NOW)
        assert await store.get_console_session(mine.token_hash) == mine
        # A long-term key's session has no token; the two kinds live side by side.
        await store.create_access_key("alice", "KVALICE", "secret", now=NOW)
        keyed = session("KVALICE")
        await store.create_console_session(keyed, NOW)
        got = await store.get_console_session(keyed.token_hash)
        assert got == keyed and got.session_token is None
        # Expired STS sessions are purged when another is minted: the console's goes too.
        later = replace(sts, access_key="ASIALATER", created=NOW + 10**6, expires=NOW + 10**6 + 900)
        await store.create_sts_session(later)
        assert await store.get_sts_session("ASIAALICE") is None
        assert await store.get_console_session(mine.token_hash) is None
        assert await store.get_console_session(keyed.token_hash) == keyed

    aio.run(body())
