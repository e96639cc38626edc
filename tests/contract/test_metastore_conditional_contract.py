"""Conditional writes and deletes inside the metadata transaction, on every MetaStore.

The conditions (gateway.s3.preconditions) are checked against what the transaction reads
under the key's lock: a write whose conditions held before it began and fail at commit
lost to a concurrent write (409); a conditional delete removes nothing when it fails.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import DeleteCondition, DeleteOutcome, MetaStore, Precondition
from tests.contract.test_metastore_contract import NOW, make_bucket, put, s3_code

# (precondition on a key whose latest ETag is "etag-1", the error or None)
PUT_CASES: list[tuple[Precondition, S3ErrorCode | None]] = [
    (Precondition(if_none_match=("etag-1",)), S3ErrorCode.PRECONDITION_FAILED),
    (Precondition(if_none_match=("other", "etag-1")), S3ErrorCode.PRECONDITION_FAILED),
    (Precondition(if_none_match=("other",)), None),
    (Precondition(if_match="other, etag-1"), None),
    # Held before the write began, fails at commit: a concurrent write won.
    (
        Precondition(if_none_match_any=True, prechecked=True),
        S3ErrorCode.CONDITIONAL_REQUEST_CONFLICT,
    ),
    (Precondition(if_match="etag-0", prechecked=True), S3ErrorCode.CONDITIONAL_REQUEST_CONFLICT),
]


def test_put_object_precondition_etags_and_conflict(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        # One store for every case (a PostgreSQL store costs a second to set up).
        for n, (precondition, error) in enumerate(PUT_CASES):
            key = f"k{n}"
            await put(metastore, key, etag="etag-1")
            if error is None:
                stored = await put(metastore, key, etag="new", precondition=precondition)
                assert await metastore.get_object("bkt", key) == stored
                continue
            with pytest.raises(S3Error) as exc:
                await put(metastore, key, etag="new", precondition=precondition)
            assert s3_code(exc) is error, precondition
            current = await metastore.get_object("bkt", key)
            assert current is not None and current.etag == "etag-1"

    aio.run(body())


def test_conditional_delete_current(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        v = await put(metastore, "k", etag="etag-1")
        for failing in (
            DeleteCondition(if_match="etag-2"),
            DeleteCondition(size=v.size + 1),
            DeleteCondition(last_modified=NOW + 5),
            DeleteCondition(if_match="etag-1", size=v.size + 1),
        ):
            with pytest.raises(S3Error) as exc:
                await metastore.delete_object("bkt", "k", now=NOW + 1, condition=failing)
            assert s3_code(exc) is S3ErrorCode.PRECONDITION_FAILED
            assert await metastore.get_object("bkt", "k") == v
        holds = DeleteCondition(if_match="*", last_modified=NOW, size=v.size)
        outcome = await metastore.delete_object("bkt", "k", now=NOW + 1, condition=holds)
        assert outcome.version_id is not None
        assert await metastore.get_object("bkt", "k") is None
        # Nothing left: If-Match is NoSuchKey, size and time conditions let it succeed.
        with pytest.raises(S3Error) as exc:
            await metastore.delete_object(
                "bkt", "k", now=NOW + 2, condition=DeleteCondition(if_match="*")
            )
        assert s3_code(exc) is S3ErrorCode.NO_SUCH_KEY
        assert await metastore.delete_object(
            "bkt", "k", now=NOW + 2, condition=DeleteCondition(size=1)
        ) == DeleteOutcome(None, False)

    aio.run(body())


def test_conditional_delete_version(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore, versioning="Enabled")
        old = await put(metastore, "k", etag="etag-1", version_id="v1")
        await put(metastore, "k", etag="etag-2", version_id="v2", now=NOW + 1)
        # The condition is on the version named, not on the latest one.
        with pytest.raises(S3Error) as exc:
            await metastore.delete_version(
                "bkt", "k", "v1", now=NOW + 2, condition=DeleteCondition(if_match="etag-2")
            )
        assert s3_code(exc) is S3ErrorCode.PRECONDITION_FAILED
        assert await metastore.get_object("bkt", "k", "v1") == replace(old, is_latest=False)
        outcome = await metastore.delete_version(
            "bkt", "k", "v1", now=NOW + 2, condition=DeleteCondition(if_match="etag-1")
        )
        assert outcome == DeleteOutcome("v1", False)
        assert await metastore.get_object("bkt", "k", "v1") is None
        # A delete marker is no object: If-Match on the latest one is NoSuchKey.
        await metastore.delete_object("bkt", "k", now=NOW + 3)
        with pytest.raises(S3Error) as exc:
            await metastore.delete_object(
                "bkt", "k", now=NOW + 4, condition=DeleteCondition(if_match="etag-2")
            )
        assert s3_code(exc) is S3ErrorCode.NO_SUCH_KEY

    aio.run(body())
