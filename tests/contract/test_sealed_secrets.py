"""Access-key secrets at rest on every metadata store: stored sealed, resealed from the
clear at start, opened by the credential cache (auth/credentials.py, auth/sealed.py)."""

from __future__ import annotations

import asyncio
import os

import pytest

from auth.credentials import (
    CredentialCache,
    create_access_key,
    create_user_access_key,
    ensure_root,
    reseal_secrets,
)
from auth.sealed import SecretSealer, UnsealError, is_sealed
from gateway.meta.base import MetaStore

NOW = 1_700_000_000.0


def test_keys_are_stored_sealed_and_old_ones_resealed(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    sealer = SecretSealer(os.urandom(32))

    async def body() -> None:
        # From before sealing: secrets in the clear.
        root, _ = await ensure_root(metastore, "ROOTKEY", "rootsecret", now=NOW)
        await metastore.create_user("alice", now=NOW)
        old = await metastore.create_access_key("alice", "OLDKEY", "oldsecret", now=NOW)
        assert old.secret_key == "oldsecret"
        assert await reseal_secrets(metastore, sealer) == 2
        assert await reseal_secrets(metastore, sealer) == 0
        for access_key in ("ROOTKEY", "OLDKEY"):
            stored = await metastore.get_access_key(access_key)
            assert stored is not None and is_sealed(stored.secret_key)

        new = await create_access_key(metastore, sealer, "alice", now=NOW)
        await metastore.create_iam_user("alice", "bob", path="/", user_id="AIDABOB", now=NOW)
        bobs = await create_user_access_key(metastore, sealer, "alice", "bob", now=NOW)
        cache = CredentialCache(metastore, ttl=0.0, sealer=sealer)
        for key in (new, bobs):
            stored = await metastore.get_access_key(key.access_key)
            assert stored is not None and is_sealed(stored.secret_key)
            assert key.secret_key not in stored.secret_key
            found, _, _ = await cache.signer(key.access_key)
            assert found.secret_key == key.secret_key
        assert (await cache.signer("OLDKEY"))[0].secret_key == "oldsecret"
        again, created = await ensure_root(
            metastore, "ROOTKEY", "rootsecret", now=NOW, sealer=sealer
        )
        assert (again.secret_key, created) == ("rootsecret", False)

        with pytest.raises(UnsealError):
            await reseal_secrets(metastore, SecretSealer(os.urandom(32)))

    aio.run(body())


def test_concurrent_misses_of_one_key_read_the_store_once(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    from prometheus_client import REGISTRY

    from gateway.meta.cached import CachedMetaStore

    def reads() -> float:
        sample = "kloudvault_metadata_duration_seconds_count"
        return REGISTRY.get_sample_value(sample, {"method": "get_access_key"}) or 0.0

    sealer = SecretSealer(os.urandom(32))

    async def body() -> None:
        await ensure_root(metastore, "ROOTKEY", "rootsecret", now=NOW, sealer=sealer)
        cache = CredentialCache(metastore, ttl=60.0, sealer=sealer)
        before = reads()
        found = await asyncio.gather(*(cache.signer("ROOTKEY") for _ in range(16)))
        assert {key.secret_key for key, _, _ in found} == {"rootsecret"}
        assert reads() - before == 1
        cache.invalidate("ROOTKEY")
        await cache.signer("ROOTKEY")
        # Forgotten, so read again: from the SQL store, or from Redis where it caches.
        assert reads() - before == (1 if isinstance(metastore, CachedMetaStore) else 2)

    aio.run(body())
