"""The MetaStore multipart contract (gateway/meta/base.py, "multipart uploads").

Runs against every METASTORE_FACTORIES entry through the shared `metastore` fixture, so a
new store (PostgreSQL) gets these tests by adding its factory. ListMultipartUploads is
checked against a brute-force reference over awkward keys, page by page.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.codec.params import SegmentCodec
from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import (
    COMPLETED_UPLOAD_MEMORY,
    MAX_PART_CANDIDATES,
    NULL_VERSION,
    Bucket,
    MetaStore,
    ObjectVersion,
    Part,
    Precondition,
    Segment,
    Upload,
)
from gateway.meta.migrations import split_statements
from gateway.meta.postgres import PostgresMetaStore
from gateway.meta.sql import Tx, execute
from gateway.meta.sqlite import SqliteMetaStore
from gateway.meta.store import SqlMetaStore
from tests.support.postgres import fresh_schema

NOW = 1_700_000_000.0
FAR_FUTURE = 1e12
MIB = 1024 * 1024


def new_id() -> str:
    return secrets.token_hex(16)


async def make_bucket(store: MetaStore, name: str = "bkt", versioning: str | None = None) -> None:
    await store.create_bucket(Bucket(name, "alice", NOW, versioning=versioning))


def upload_of(key: str, upload_id: str | None = None, bucket: str = "bkt", **kw: object) -> Upload:
    return Upload(bucket, key, upload_id or new_id(), NOW, owner="alice", **kw)  # type: ignore[arg-type]


async def add_part(
    store: MetaStore, u: Upload, number: int, *, size: int = 5 * MIB, now: float = NOW
) -> Part:
    blob_id = new_id()
    await store.add_pending_blob(blob_id, now=now)
    part = Part(number, blob_id, size, new_id(), now, {"CRC32": "AAAAAA=="})
    await store.put_part(u.bucket, u.key, u.upload_id, part)
    return part


def version_from(u: Upload, parts: Sequence[Part], *, now: float = NOW + 10) -> ObjectVersion:
    return ObjectVersion(
        bucket=u.bucket,
        key=u.key,
        version_id=new_id(),
        last_modified=now,
        size=sum(p.size for p in parts),
        etag=f"{new_id()}-{len(parts)}",
        owner=u.owner,
        segments=tuple(
            Segment(p.blob_id, p.size, part_number=p.number, etag=p.etag, checksums=p.checksums)
            for p in parts
        ),
    )


async def garbage(store: MetaStore) -> set[str]:
    return set(await store.collectable_blobs(garbage_before=FAR_FUTURE, pending_before=0))


async def stale_pending_and_garbage(store: MetaStore) -> set[str]:
    """Everything the collector would take right now, with no grace at all."""
    return set(await store.collectable_blobs(garbage_before=FAR_FUTURE, pending_before=FAR_FUTURE))


def code_of(info: pytest.ExceptionInfo[S3Error]) -> S3ErrorCode:
    return info.value.code


# -- uploads and parts -------------------------------------------------------------------------


def test_create_and_get_upload(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of(
            "dir/k\u00e9y",
            content_type="text/plain",
            headers={"cache-control": "no-cache"},
            user_meta={"a": "1"},
            storage_class="STANDARD_IA",
            checksum_algorithm="CRC32",
            checksum_type="COMPOSITE",
        )
        await metastore.create_upload(u)
        assert await metastore.get_upload("bkt", u.key, u.upload_id) == u
        assert await metastore.get_upload("bkt", "other", u.upload_id) is None
        assert await metastore.get_upload("bkt", u.key, new_id()) is None
        with pytest.raises(S3Error) as info:
            await metastore.create_upload(upload_of("k", bucket="nobucket"))
        assert code_of(info) is S3ErrorCode.NO_SUCH_BUCKET

    aio.run(body())


def test_put_part_and_list_parts(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k")
        await metastore.create_upload(u)
        parts = [await add_part(metastore, u, n) for n in (3, 1, 7, 2)]
        by_number = {p.number: p for p in parts}
        page = await metastore.list_parts("bkt", "k", u.upload_id)
        assert [p.number for p in page.parts] == [1, 2, 3, 7]
        assert page.parts[0] == by_number[1]
        assert (page.is_truncated, page.next_marker) == (False, 7)
        page = await metastore.list_parts("bkt", "k", u.upload_id, max_parts=2)
        assert ([p.number for p in page.parts], page.is_truncated, page.next_marker) == (
            [1, 2],
            True,
            2,
        )
        page = await metastore.list_parts(
            "bkt", "k", u.upload_id, part_number_marker=2, max_parts=2
        )
        assert ([p.number for p in page.parts], page.is_truncated) == ([3, 7], False)
        page = await metastore.list_parts("bkt", "k", u.upload_id, part_number_marker=7)
        assert (list(page.parts), page.is_truncated, page.next_marker) == ([], False, None)
        # Committed parts are referenced and neither pending nor garbage.
        for p in parts:
            assert await metastore.blob_is_referenced(p.blob_id)
        assert await stale_pending_and_garbage(metastore) == set()

    aio.run(body())


def test_put_part_keeps_each_candidate(metastore: MetaStore, aio: asyncio.Runner) -> None:
    """Two uploads of part 1 with different bytes: both kept, ListParts shows the one
    whose request began last, and list_part_candidates both, latest first."""

    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k")
        await metastore.create_upload(u)
        old = await add_part(metastore, u, 1)
        new = await add_part(metastore, u, 1, size=10, now=NOW + 1)
        page = await metastore.list_parts("bkt", "k", u.upload_id)
        assert list(page.parts) == [new]
        assert await metastore.list_part_candidates("bkt", "k", u.upload_id) == [new, old]
        assert await garbage(metastore) == set()
        assert await metastore.blob_is_referenced(old.blob_id)

    aio.run(body())


def test_complete_uses_the_candidate_it_names(metastore: MetaStore, aio: asyncio.Runner) -> None:
    """Two uploads of part 1: the one that began later commits first, then the earlier
    one commits. A Complete naming the earlier one completes with it; the other's blob
    goes to garbage then, not before."""

    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k")
        await metastore.create_upload(u)
        later = await add_part(metastore, u, 1, now=NOW + 2)
        earlier = await add_part(metastore, u, 1, size=10, now=NOW + 1)
        page = await metastore.list_parts("bkt", "k", u.upload_id)
        assert list(page.parts) == [later]
        assert await garbage(metastore) == set()
        await metastore.complete_upload(u.upload_id, version_from(u, [earlier]), parts_digest="")
        stored = await metastore.get_object("bkt", "k")
        assert stored is not None and [s.blob_id for s in stored.segments] == [earlier.blob_id]
        assert await garbage(metastore) == {later.blob_id}
        assert not await metastore.blob_is_referenced(later.blob_id)

    aio.run(body())


def test_put_part_same_bytes_keep_the_latest(metastore: MetaStore, aio: asyncio.Runner) -> None:
    """Candidates with one ETag (a retry of the same bytes): only the latest-begun stays,
    whichever order they commit in."""

    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k")
        await metastore.create_upload(u)

        async def again(part: Part, now: float) -> Part:
            blob_id = new_id()
            await metastore.add_pending_blob(blob_id, now=now)
            retry = replace(part, blob_id=blob_id, last_modified=now)
            await metastore.put_part("bkt", "k", u.upload_id, retry)
            return retry

        first = await add_part(metastore, u, 1, now=NOW + 1)
        retry = await again(first, NOW + 2)
        assert await metastore.list_part_candidates("bkt", "k", u.upload_id) == [retry]
        assert await garbage(metastore) == {first.blob_id}
        stale = await again(first, NOW)  # began before the kept one, committed after it
        assert await metastore.list_part_candidates("bkt", "k", u.upload_id) == [retry]
        assert await garbage(metastore) == {first.blob_id, stale.blob_id}

    aio.run(body())


def test_put_part_keeps_at_most_max_candidates(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k")
        await metastore.create_upload(u)
        made = [await add_part(metastore, u, 1, now=NOW + i) for i in range(MAX_PART_CANDIDATES)]
        newest = await add_part(metastore, u, 1, now=NOW + 100)
        kept = await metastore.list_part_candidates("bkt", "k", u.upload_id)
        assert kept == [newest, *reversed(made[1:])]
        assert await garbage(metastore) == {made[0].blob_id}
        oldest = await add_part(metastore, u, 1, now=NOW - 1)  # older than all kept: dropped
        assert await metastore.list_part_candidates("bkt", "k", u.upload_id) == kept
        assert await garbage(metastore) == {made[0].blob_id, oldest.blob_id}
        with pytest.raises(S3Error) as info:
            await metastore.complete_upload(
                u.upload_id, version_from(u, [made[0]]), parts_digest=""
            )
        assert code_of(info) is S3ErrorCode.INVALID_PART
        await metastore.abort_upload("bkt", "k", u.upload_id, now=NOW + 200)
        expected = {p.blob_id for p in [*made, newest, oldest]}
        assert await garbage(metastore) == expected

    aio.run(body())


def test_put_part_refusals(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k")
        await metastore.create_upload(u)
        unregistered = Part(1, new_id(), 1, new_id(), NOW)
        with pytest.raises(S3Error) as info:
            await metastore.put_part("bkt", "k", u.upload_id, unregistered)
        assert code_of(info) is S3ErrorCode.INTERNAL_ERROR
        # Aborted while the part streamed: NoSuchUpload, and the blob stays pending so the
        # caller can delete it and drop it.
        blob_id = new_id()
        await metastore.add_pending_blob(blob_id, now=NOW)
        await metastore.abort_upload("bkt", "k", u.upload_id, now=NOW)
        for bucket, key, upload_id in (
            ("bkt", "k", u.upload_id),
            ("bkt", "other", u.upload_id),
            ("bkt", "k", new_id()),
        ):
            with pytest.raises(S3Error) as info:
                await metastore.put_part(bucket, key, upload_id, Part(1, blob_id, 1, new_id(), NOW))
            assert code_of(info) is S3ErrorCode.NO_SUCH_UPLOAD
        assert blob_id in await stale_pending_and_garbage(metastore)

    aio.run(body())


def test_list_parts_no_such_upload(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        with pytest.raises(S3Error) as info:
            await metastore.list_parts("bkt", "k", new_id())
        assert code_of(info) is S3ErrorCode.NO_SUCH_UPLOAD

    aio.run(body())


def test_abort_upload(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k")
        await metastore.create_upload(u)
        parts = [await add_part(metastore, u, n) for n in (1, 2)]
        await metastore.abort_upload("bkt", "k", u.upload_id, now=NOW + 5)
        assert await metastore.get_upload("bkt", "k", u.upload_id) is None
        assert await garbage(metastore) == {p.blob_id for p in parts}
        # The grace period counts from the abort.
        young = await metastore.collectable_blobs(garbage_before=NOW + 5, pending_before=0)
        assert young == []
        with pytest.raises(S3Error) as info:
            await metastore.abort_upload("bkt", "k", u.upload_id, now=NOW)
        assert code_of(info) is S3ErrorCode.NO_SUCH_UPLOAD

    aio.run(body())


# -- completing --------------------------------------------------------------------------------


def test_complete_upload(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k", content_type="text/plain")
        await metastore.create_upload(u)
        p1, p2, p3 = [await add_part(metastore, u, n) for n in (1, 2, 3)]
        version = version_from(u, [p1, p3])
        stored = await metastore.complete_upload(u.upload_id, version, parts_digest="d1")
        assert stored.version_id == NULL_VERSION
        got = await metastore.get_object("bkt", "k")
        assert got is not None
        assert got.segments == version.segments
        assert got.parts_count == 2
        assert (got.etag, got.size) == (version.etag, version.size)
        # The listed parts' blobs now belong to the version; the unlisted one is garbage.
        assert await garbage(metastore) == {p2.blob_id}
        assert await metastore.blob_is_referenced(p1.blob_id)
        assert await metastore.blob_is_referenced(p3.blob_id)
        assert await metastore.get_upload("bkt", "k", u.upload_id) is None
        with pytest.raises(S3Error) as info:
            await metastore.list_parts("bkt", "k", u.upload_id)
        assert code_of(info) is S3ErrorCode.NO_SUCH_UPLOAD
        done = await metastore.get_completed_upload("bkt", "k", u.upload_id)
        assert done is not None
        assert (done.version_id, done.etag, done.parts_digest) == (NULL_VERSION, version.etag, "d1")
        assert done.completed == version.last_modified
        assert await metastore.get_completed_upload("bkt", "other", u.upload_id) is None
        # A second Complete of the same upload: it is gone.
        with pytest.raises(S3Error) as info:
            await metastore.complete_upload(u.upload_id, version, parts_digest="d1")
        assert code_of(info) is S3ErrorCode.NO_SUCH_UPLOAD

    aio.run(body())


@pytest.mark.parametrize("change", ["blob", "etag", "number"])
def test_complete_upload_invalid_part_changes_nothing(
    metastore: MetaStore, aio: asyncio.Runner, change: str
) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k")
        await metastore.create_upload(u)
        p1, p2 = [await add_part(metastore, u, n) for n in (1, 2)]
        if change == "blob":
            bad = replace(p2, blob_id=new_id())
        elif change == "etag":
            bad = replace(p2, etag=new_id())
        else:
            bad = replace(p2, number=3)
        with pytest.raises(S3Error) as info:
            await metastore.complete_upload(
                u.upload_id, version_from(u, [p1, bad]), parts_digest=""
            )
        assert code_of(info) is S3ErrorCode.INVALID_PART
        assert await metastore.get_object("bkt", "k") is None
        assert list((await metastore.list_parts("bkt", "k", u.upload_id)).parts) == [p1, p2]
        assert await garbage(metastore) == set()

    aio.run(body())


def test_complete_upload_after_part_replaced(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k")
        await metastore.create_upload(u)
        p1 = await add_part(metastore, u, 1)
        listed = version_from(u, [p1])
        # The same bytes re-uploaded after the caller listed the candidates: the new
        # candidate replaces p1, whose blob the Complete can no longer use.
        blob_id = new_id()
        await metastore.add_pending_blob(blob_id, now=NOW)
        retry = replace(p1, blob_id=blob_id, last_modified=NOW + 1)
        await metastore.put_part("bkt", "k", u.upload_id, retry)
        with pytest.raises(S3Error) as info:
            await metastore.complete_upload(u.upload_id, listed, parts_digest="")
        assert code_of(info) is S3ErrorCode.INVALID_PART

    aio.run(body())


def test_complete_upload_replaces_existing_version(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        old_blob = new_id()
        await metastore.add_pending_blob(old_blob, now=NOW)
        await metastore.put_object(
            ObjectVersion("bkt", "k", new_id(), NOW, 1, "e0", segments=(Segment(old_blob, 1),))
        )
        u = upload_of("k")
        await metastore.create_upload(u)
        p1 = await add_part(metastore, u, 1)
        await metastore.complete_upload(u.upload_id, version_from(u, [p1]), parts_digest="")
        assert await garbage(metastore) == {old_blob}

    aio.run(body())


def test_complete_upload_versioned_keeps_old(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore, versioning="Enabled")
        u1, u2 = upload_of("k"), upload_of("k")
        await metastore.create_upload(u1)
        await metastore.create_upload(u2)
        a = await add_part(metastore, u1, 1)
        b = await add_part(metastore, u2, 1)
        v1 = await metastore.complete_upload(u1.upload_id, version_from(u1, [a]), parts_digest="")
        v2 = await metastore.complete_upload(
            u2.upload_id, version_from(u2, [b], now=NOW + 20), parts_digest=""
        )
        assert v1.version_id != v2.version_id != NULL_VERSION
        latest = await metastore.get_object("bkt", "k")
        assert latest is not None and latest.version_id == v2.version_id
        older = await metastore.get_object("bkt", "k", v1.version_id)
        assert older is not None and not older.is_latest
        assert await garbage(metastore) == set()

    aio.run(body())


def test_complete_upload_precondition(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        first = upload_of("k")
        await metastore.create_upload(first)
        p = await add_part(metastore, first, 1)
        await metastore.complete_upload(first.upload_id, version_from(first, [p]), parts_digest="")
        u = upload_of("k")
        await metastore.create_upload(u)
        q = await add_part(metastore, u, 1)
        with pytest.raises(S3Error) as info:
            await metastore.complete_upload(
                u.upload_id, version_from(u, [q]), Precondition(if_none_match_any=True),
                parts_digest="",
            )  # fmt: skip
        assert code_of(info) is S3ErrorCode.PRECONDITION_FAILED
        # The upload is still in progress: the client may complete it without the condition.
        assert await metastore.get_upload("bkt", "k", u.upload_id) is not None
        done = await metastore.complete_upload(
            u.upload_id, version_from(u, [q]), Precondition(if_match="*"), parts_digest=""
        )
        assert done.segments[0].blob_id == q.blob_id

    aio.run(body())


def test_concurrent_uploads_last_complete_wins(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u1, u2 = upload_of("k"), upload_of("k")
        await metastore.create_upload(u1)
        await metastore.create_upload(u2)
        a = [await add_part(metastore, u1, n) for n in (1, 2)]
        b = [await add_part(metastore, u2, n) for n in (1, 2)]
        await metastore.complete_upload(u2.upload_id, version_from(u2, b), parts_digest="")
        await metastore.complete_upload(
            u1.upload_id, version_from(u1, a, now=NOW + 20), parts_digest=""
        )
        latest = await metastore.get_object("bkt", "k")
        assert latest is not None
        assert [s.blob_id for s in latest.segments] == [p.blob_id for p in a]
        assert await garbage(metastore) == {p.blob_id for p in b}

    aio.run(body())


def test_completed_uploads_are_forgotten(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u1, u2 = upload_of("a"), upload_of("b")
        for u in (u1, u2):
            await metastore.create_upload(u)
        p = await add_part(metastore, u1, 1)
        q = await add_part(metastore, u2, 1)
        await metastore.complete_upload(u1.upload_id, version_from(u1, [p]), parts_digest="")
        later = NOW + 10 + COMPLETED_UPLOAD_MEMORY + 1
        await metastore.complete_upload(
            u2.upload_id, version_from(u2, [q], now=later), parts_digest=""
        )
        assert await metastore.get_completed_upload("bkt", "a", u1.upload_id) is None
        assert await metastore.get_completed_upload("bkt", "b", u2.upload_id) is not None

    aio.run(body())


def test_delete_bucket_discards_uploads(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k")
        await metastore.create_upload(u)
        p = await add_part(metastore, u, 1)
        await metastore.delete_bucket("bkt")
        assert await garbage(metastore) == {p.blob_id}
        await make_bucket(metastore)  # same name again: no upload survived
        assert (await metastore.list_uploads("bkt")).uploads == []

    aio.run(body())


def test_put_part_racing_abort_leaves_no_live_blob(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        for _ in range(20):
            u = upload_of("k")
            await metastore.create_upload(u)
            blob_id = new_id()
            await metastore.add_pending_blob(blob_id, now=NOW)
            put = metastore.put_part("bkt", "k", u.upload_id, Part(1, blob_id, 1, "e", NOW))
            outcome = await asyncio.gather(
                put, metastore.abort_upload("bkt", "k", u.upload_id, now=NOW),
                return_exceptions=True,
            )  # fmt: skip
            assert outcome[1] is None
            # Either the part landed first (and went to garbage with the abort), or the
            # put failed and the blob is still pending for its writer to drop.
            assert not await metastore.blob_is_referenced(blob_id)
            assert blob_id in await stale_pending_and_garbage(metastore)
            if isinstance(outcome[0], BaseException):
                assert isinstance(outcome[0], S3Error)
                assert outcome[0].code is S3ErrorCode.NO_SUCH_UPLOAD

    aio.run(body())


# -- ListMultipartUploads ----------------------------------------------------------------------

KEYS = ["a", "a/", "a/b", "a/b/c", "a/c", "a+b", "ab", "b/x", "b/y/z", "\u00e9", "\U0001f600/1"]


def reference_uploads(
    uploads: list[tuple[str, str]],
    prefix: str,
    delimiter: str,
    key_marker: str,
    upload_id_marker: str,
) -> list[tuple[str, str | None]]:
    """Every (key, upload id) or (common prefix, None) after the markers, in order."""
    out: list[tuple[str, str | None]] = []
    for key, upload_id in sorted(uploads, key=lambda u: (u[0].encode(), u[1])):
        if not key.startswith(prefix):
            continue
        i = key.find(delimiter, len(prefix)) if delimiter else -1
        if i >= 0:
            cp = key[: i + len(delimiter)]
            if (not out or out[-1] != (cp, None)) and (not key_marker or cp > key_marker):
                out.append((cp, None))
            continue
        if key_marker and not (
            key > key_marker
            or (upload_id_marker and key == key_marker and upload_id > upload_id_marker)
        ):
            continue
        out.append((key, upload_id))
    return out


def test_list_uploads_matches_reference(metastore: MetaStore, aio: asyncio.Runner) -> None:
    rng = random.Random(7)

    async def body() -> None:
        await make_bucket(metastore)
        uploads = []
        for n, key in enumerate(KEYS * 2):
            upload_id = f"{n:04d}{new_id()}"
            if rng.random() < 0.8:
                await metastore.create_upload(upload_of(key, upload_id))
                uploads.append((key, upload_id))
        markers = [("", ""), ("a/b", ""), ("a", "0000"), ("a/b", "9999"), ("a/b/c", ""), ("zz", "")]
        for prefix, delimiter, (key_marker, upload_id_marker), max_uploads in itertools.product(
            ["", "a", "a/", "b/"], ["", "/", "b"], markers, [1, 2, 1000]
        ):
            expected = reference_uploads(uploads, prefix, delimiter, key_marker, upload_id_marker)
            got: list[tuple[str, str | None]] = []
            km, um = key_marker, upload_id_marker
            for _ in range(100):
                page = await metastore.list_uploads(
                    "bkt", prefix=prefix, delimiter=delimiter, key_marker=km,
                    upload_id_marker=um, max_uploads=max_uploads,
                )  # fmt: skip
                items: list[tuple[str, str | None]] = [(u.key, u.upload_id) for u in page.uploads]
                items += [(cp, None) for cp in page.common_prefixes]
                items.sort(key=lambda item: (item[0], item[1] or ""))
                assert len(items) <= max_uploads
                got += items
                if not page.is_truncated:
                    break
                assert page.next_key_marker is not None
                km, um = page.next_key_marker, page.next_upload_id_marker or ""
            context = (prefix, delimiter, key_marker, upload_id_marker, max_uploads)
            assert got == expected, context

    aio.run(body())


def test_list_uploads_no_such_bucket(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        with pytest.raises(S3Error) as info:
            await metastore.list_uploads("nobucket")
        assert code_of(info) is S3ErrorCode.NO_SUCH_BUCKET

    aio.run(body())


def test_codec_travels_from_parts_to_the_version(metastore: MetaStore, aio: asyncio.Runner) -> None:
    """An encrypted upload's key check and each part's codec survive the store, and the
    completed version's segments carry the codecs (gateway/codec/params.py)."""
    check = SegmentCodec("SSE-C", "c2VhbGVk", "c2lk", 65536, 0)

    async def run() -> None:
        await make_bucket(metastore)
        u = upload_of("enc", encryption=check)
        await metastore.create_upload(u)
        assert (await metastore.get_upload("bkt", "enc", u.upload_id)) == u
        blob_id = new_id()
        await metastore.add_pending_blob(blob_id, now=NOW)
        codec = replace(check, sealed_key="cGFydA==", stored_size=5 * MIB + 80 * 16)
        part = Part(1, blob_id, 5 * MIB, new_id(), NOW, {}, codec=codec)
        await metastore.put_part("bkt", "enc", u.upload_id, part)
        listed = await metastore.list_parts("bkt", "enc", u.upload_id)
        assert list(listed.parts) == [part]
        v = version_from(u, [part])
        v = replace(v, segments=tuple(replace(s, codec=part.codec) for s in v.segments))
        await metastore.complete_upload(u.upload_id, v, None, parts_digest="d")
        got = await metastore.get_object("bkt", "enc")
        assert got is not None and got.segments[0].codec == codec

    aio.run(run())


# -- migration 0019 over uploads in progress -----------------------------------------------------

# upload_parts as 0002 and 0007 made it: one row per part number.
_BEFORE_0019 = """
CREATE TABLE upload_parts_old (
    upload_id TEXT NOT NULL REFERENCES uploads (upload_id),
    part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size BIGINT NOT NULL,
    etag TEXT NOT NULL,
    checksums TEXT NOT NULL,
    last_modified DOUBLE PRECISION NOT NULL,
    codec TEXT,
    PRIMARY KEY (upload_id, part_number)
);
INSERT INTO upload_parts_old SELECT upload_id, part_number, blob_id, size, etag, checksums,
    last_modified, codec FROM upload_parts;
DROP TABLE upload_parts;
ALTER TABLE upload_parts_old RENAME TO upload_parts;
CREATE INDEX upload_parts_by_blob ON upload_parts (blob_id);
DELETE FROM schema_migrations WHERE version = 19
"""


def _back_before_0019() -> Tx[None]:
    for statement in split_statements(_BEFORE_0019):
        yield from execute(statement)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_migration_0019_keeps_parts_in_progress(
    dialect: str, tmp_path: Path, aio: asyncio.Runner
) -> None:
    """An upload begun before 0019 keeps its parts and takes candidates after it."""

    async def run(open_store: Callable[[], SqlMetaStore]) -> None:
        store = open_store()
        await store.open()
        await make_bucket(store)
        u = upload_of("k")
        await store.create_upload(u)
        parts = [await add_part(store, u, n) for n in (1, 2)]
        await store.db.write(_back_before_0019)
        await store.close()
        store = open_store()  # applies 0019 again, over these rows
        await store.open()
        try:
            assert list((await store.list_parts("bkt", "k", u.upload_id)).parts) == parts
            again = await add_part(store, u, 1, now=NOW + 1)
            candidates = await store.list_part_candidates("bkt", "k", u.upload_id)
            assert candidates == [again, parts[0], parts[1]]
        finally:
            await store.close()

    if dialect == "sqlite":
        aio.run(run(lambda: SqliteMetaStore(str(tmp_path / "meta.sqlite3"))))
        return

    async def on_postgres() -> None:
        async with fresh_schema() as dsn:
            await run(lambda: PostgresMetaStore(dsn, pool_min=1))

    aio.run(on_postgres())
