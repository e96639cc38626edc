"""Console sessions in the MetaStore (gateway/meta/console_sessions.py), on every
METASTORE_FACTORIES entry: stored by token hash, touched, deleted on sign-out, purged once
past their expiry, and gone with their access key."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from gateway.meta.base import ConsoleSession, MetaStore

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
