"""The built-in KMS's keys and the coded-row walk (gateway/meta/kms.py), on every
METASTORE_FACTORIES entry: keys by id and per-account alias, enable/disable, versions
appended once, and segments swapped only while they are as read."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace

import pytest

from gateway.codec.params import KmsRef, SegmentCodec
from gateway.meta.base import Bucket, KmsKey, MetaStore, ObjectVersion, Part, Segment, Upload

NOW = 1_700_000_000.0


def key_of(account: str, alias: str | None) -> KmsKey:
    return KmsKey(secrets.token_hex(8), account, alias, None, True, ("v0",), NOW)


def codec(key_id: str, version: int = 0) -> SegmentCodec:
    return SegmentCodec("SSE-KMS", "sealed", "sid", 65536, 100, kms=KmsRef(key_id, version))


def test_kms_keys(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        store = metastore
        await store.create_user("alice", now=NOW)
        await store.create_user("carol", now=NOW)
        first, second = key_of("alice", "alias/aws/s3"), key_of("alice", None)
        await store.create_kms_key(first)
        await store.create_kms_key(second)
        await store.create_kms_key(key_of("carol", "alias/aws/s3"))  # aliases are per account
        with pytest.raises(KeyError):
            await store.create_kms_key(key_of("alice", "alias/aws/s3"))
        assert await store.get_kms_key(first.key_id) == first
        assert await store.find_kms_alias("alice", "alias/aws/s3") == first
        assert await store.find_kms_alias("alice", "alias/none") is None
        assert {k.key_id for k in await store.list_kms_keys("alice")} == {
            first.key_id,
            second.key_id,
        }
        assert len(await store.list_kms_keys()) == 3
        assert await store.set_kms_key_enabled(first.key_id, False)
        assert not await store.set_kms_key_enabled("nope", False)
        rotated = await store.add_kms_key_version(first.key_id, 1, "v1")
        assert rotated is not None and rotated.versions == ("v0", "v1") and not rotated.enabled
        assert rotated.current_version == 1
        assert await store.add_kms_key_version(first.key_id, 1, "again") is None  # raced
        assert await store.add_kms_key_version("nope", 0, "x") is None

    aio.run(body())


def test_coded_rows_and_replace_segments(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        store = metastore
        await store.create_user("alice", now=NOW)
        await store.create_bucket(Bucket("b", "alice", NOW))
        for key, key_id in (("a", "k1"), ("b", "k2"), ("c", "k1")):
            blob = secrets.token_hex(8)
            await store.add_pending_blob(blob, now=NOW)
            segment = Segment(blob, 100, codec=codec(key_id))
            version = ObjectVersion(
                bucket="b",
                key=key,
                version_id="null",
                last_modified=NOW,
                size=100,
                etag="e",
                owner="alice",
                segments=(segment,),
            )
            await store.put_object(version)
        needle = '"kms":{"id":"k1"'
        found = await store.coded_versions(needle)
        assert [r.key for r in found] == ["a", "c"]
        assert [r.key for r in await store.coded_versions(needle, ("b", "a", "null"))] == ["c"]
        assert [r.key for r in await store.coded_versions(needle, limit=1)] == ["a"]
        row = found[0]
        new = (replace(row.segments[0], codec=codec("k1", 1)),)
        assert await store.replace_segments(row, new)
        assert not await store.replace_segments(row, new)  # no longer as read
        stored = await store.get_object("b", "a")
        assert stored is not None and stored.segments == new

        upload = Upload("b", "mp", "u1", NOW, owner="alice")
        await store.create_upload(upload)
        # Two candidates of part 1 (migration 0019): each is found and resealed alone.
        blobs = sorted(secrets.token_hex(8) for _ in range(2))
        for n, blob in enumerate(blobs):
            await store.add_pending_blob(blob, now=NOW)
            part = Part(1, blob, 100, f"e{n}", NOW + n, {}, codec=codec("k1"))
            await store.put_part("b", "mp", "u1", part)
        parts = await store.coded_parts(needle)
        assert [(r.upload_id, r.key, r.segments[0].part_number) for r in parts] == [
            ("u1", "mp", 1),
            ("u1", "mp", 1),
        ]
        assert [r.segments[0].blob_id for r in parts] == blobs
        assert await store.coded_parts(needle, ("u1", 1, blobs[0]), limit=1) == parts[1:]
        assert await store.coded_parts(needle, ("u1", 1, blobs[1])) == []
        moved = (replace(parts[1].segments[0], codec=codec("k1", 1)),)
        assert await store.replace_segments(parts[1], moved)
        by_blob = {p.blob_id: p for p in await store.list_part_candidates("b", "mp", "u1")}
        assert by_blob[blobs[1]].codec == codec("k1", 1)
        assert by_blob[blobs[0]].codec == codec("k1")

    aio.run(body())
