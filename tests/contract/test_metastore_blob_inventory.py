"""MetaStore.referenced_blobs and known_blobs, the scrubber's view of the blob lists
(gateway/jobs/scrub.py), against every METASTORE_FACTORIES entry."""

from __future__ import annotations

import asyncio
import secrets

from gateway.meta.base import Bucket, MetaStore, ObjectVersion, Part, Segment, Upload

NOW = 1_700_000_000.0


def new_id() -> str:
    return secrets.token_hex(16)


async def put_version(store: MetaStore, key: str, blobs: int) -> list[str]:
    ids = [new_id() for _ in range(blobs)]
    for blob_id in ids:
        await store.add_pending_blob(blob_id, now=NOW)
    await store.put_object(
        ObjectVersion(
            bucket="bkt",
            key=key,
            version_id=new_id(),
            last_modified=NOW,
            size=10 * blobs,
            etag=new_id(),
            owner="alice",
            segments=tuple(Segment(b, 10) for b in ids),
        )
    )
    return ids


async def add_part(store: MetaStore, upload: Upload, number: int) -> Part:
    blob_id = new_id()
    await store.add_pending_blob(blob_id, now=NOW)
    part = Part(number, blob_id, 10, new_id(), NOW)
    await store.put_part(upload.bucket, upload.key, upload.upload_id, part)
    return part


async def all_referenced(store: MetaStore, limit: int) -> list[str]:
    found: list[str] = []
    after = ""
    while True:
        page = await store.referenced_blobs(after, limit)
        assert len(page) <= limit
        found += page
        if len(page) < limit:
            return found
        after = page[-1]


async def scenario(store: MetaStore) -> tuple[set[str], set[str], set[str]]:
    """(referenced, pending, garbage) blob ids of a store with every kind of blob."""
    await store.create_bucket(Bucket("bkt", "alice", NOW, versioning="Enabled"))
    referenced = set(await put_version(store, "a", 1))
    referenced |= set(await put_version(store, "a", 3))  # an older version stays
    referenced |= set(await put_version(store, "b", 2))
    upload = Upload("bkt", "mp", new_id(), NOW, owner="alice")
    await store.create_upload(upload)
    parts = [await add_part(store, upload, n) for n in (1, 2)]
    referenced |= {p.blob_id for p in parts}  # parts of an upload in progress
    done = Upload("bkt", "done", new_id(), NOW, owner="alice")
    await store.create_upload(done)
    listed = await add_part(store, done, 1)
    unlisted = await add_part(store, done, 2)
    await store.complete_upload(
        done.upload_id,
        ObjectVersion(
            bucket="bkt",
            key="done",
            version_id=new_id(),
            last_modified=NOW,
            size=10,
            etag=f"{new_id()}-1",
            owner="alice",
            segments=(Segment(listed.blob_id, 10, part_number=1, etag=listed.etag),),
        ),
        parts_digest="x",
    )
    referenced.add(listed.blob_id)  # now a version's segment
    aborted = Upload("bkt", "ab", new_id(), NOW, owner="alice")
    await store.create_upload(aborted)
    aborted_part = await add_part(store, aborted, 1)
    await store.abort_upload("bkt", "ab", aborted.upload_id, now=NOW)
    latest_b = await store.get_object("bkt", "b")
    assert latest_b is not None
    await store.delete_version("bkt", "b", latest_b.version_id, now=NOW)  # blobs to garbage
    gone = {b for b in referenced if not await store.blob_is_referenced(b)}
    referenced -= gone
    pending = {new_id(), new_id()}
    for blob_id in pending:
        await store.add_pending_blob(blob_id, now=NOW)
    return referenced, pending, gone | {unlisted.blob_id, aborted_part.blob_id}


def test_referenced_blobs_pages_in_order(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        assert await metastore.referenced_blobs() == []
        referenced, _, garbage = await scenario(metastore)
        assert len(garbage) == 4  # b's two blobs, the unlisted part, the aborted part
        for limit in (1, 2, 3, 1000):
            found = await all_referenced(metastore, limit)
            assert found == sorted(referenced), limit  # ascending, each once, nothing else
        last = sorted(referenced)[-1]
        assert await metastore.referenced_blobs(last, 10) == []

    aio.run(body())


def test_known_blobs(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        referenced, pending, garbage = await scenario(metastore)
        known = referenced | pending | garbage
        strangers = {new_id() for _ in range(500)}  # more than one batch of parameters
        asked = [*strangers, *known, *sorted(known)]  # duplicates are fine
        assert await metastore.known_blobs(asked) == known
        assert await metastore.known_blobs([]) == set()
        assert await metastore.known_blobs(sorted(strangers)) == set()

    aio.run(body())
