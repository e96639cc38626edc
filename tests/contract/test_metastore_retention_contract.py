"""The retention methods of the MetaStore contract (gateway/meta/base.py: versioning,
bucket configuration documents, versions listing, tags/retention/legal hold updates and
the guarded removals), run against every METASTORE_FACTORIES entry: SQLite, PostgreSQL,
and PostgreSQL behind the Redis cache (where stale cached heads would show)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import (
    NULL_VERSION,
    DeleteOutcome,
    MetaStore,
    ObjectVersion,
    RetentionFields,
    Upload,
)
from tests.contract.test_metastore_contract import NOW, blob_ids, garbage, make_bucket, put


def code_of(exc: pytest.ExceptionInfo[S3Error]) -> S3ErrorCode:
    return exc.value.code


# -- buckets ---------------------------------------------------------------------------------
def test_versioning_and_object_lock_states(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        with pytest.raises(S3Error) as err:
            await metastore.enable_object_lock("bkt")  # versioning is not Enabled
        assert code_of(err) is S3ErrorCode.INVALID_BUCKET_STATE
        await metastore.put_bucket_versioning("bkt", "Enabled")
        await metastore.enable_object_lock("bkt")
        await metastore.enable_object_lock("bkt")  # idempotent
        bucket = await metastore.get_bucket("bkt")
        assert bucket is not None and (bucket.versioning, bucket.object_lock) == ("Enabled", True)
        with pytest.raises(S3Error) as err:
            await metastore.put_bucket_versioning("bkt", "Suspended")
        assert code_of(err) is S3ErrorCode.INVALID_BUCKET_STATE
        await metastore.put_bucket_versioning("bkt", "Enabled")  # no change is fine
        bucket = await metastore.get_bucket("bkt")
        assert bucket is not None and bucket.versioning == "Enabled"
        for call in (
            metastore.enable_object_lock("nope"),
            metastore.put_bucket_versioning("nope", "Enabled"),
        ):
            with pytest.raises(S3Error) as err:
                await call
            assert code_of(err) is S3ErrorCode.NO_SUCH_BUCKET
        with pytest.raises(ValueError):
            await metastore.put_bucket_versioning("bkt", "Off")

    aio.run(body())


def test_bucket_configs(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        assert await metastore.get_bucket_config("bkt", "lifecycle") is None
        await metastore.put_bucket_config("bkt", "lifecycle", "<a/>")
        await metastore.put_bucket_config("bkt", "tagging", "<t/>")
        assert await metastore.get_bucket_config("bkt", "lifecycle") == "<a/>"
        await metastore.put_bucket_config("bkt", "lifecycle", "<b>é</b>")
        assert await metastore.get_bucket_config("bkt", "lifecycle") == "<b>é</b>"
        await metastore.put_bucket_config("bkt", "lifecycle", None)
        await metastore.put_bucket_config("bkt", "lifecycle", None)  # deleting twice is fine
        assert await metastore.get_bucket_config("bkt", "lifecycle") is None
        assert await metastore.get_bucket_config("bkt", "tagging") == "<t/>"
        with pytest.raises(S3Error) as err:
            await metastore.put_bucket_config("nope", "lifecycle", "<a/>")
        assert code_of(err) is S3ErrorCode.NO_SUCH_BUCKET
        # Configurations go with their bucket: a new bucket of that name has none.
        await metastore.delete_bucket("bkt")
        await make_bucket(metastore)
        assert await metastore.get_bucket_config("bkt", "tagging") is None

    aio.run(body())


# -- versions listing --------------------------------------------------------------------------
async def _versioned_tree(store: MetaStore) -> list[tuple[str, str, bool, bool]]:
    """Keys with several versions and delete markers; returns the expected listing as
    (key, version id, is_latest, is_delete_marker) in key order, newest first."""
    await make_bucket(store, versioning="Enabled")
    t = NOW
    expected: list[tuple[str, str, bool, bool]] = []
    for key, n, deleted in [("a", 3, False), ("d/1", 1, True), ("d/2", 2, False), ("z", 1, True)]:
        ids = []
        for i in range(n):
            t += 1
            ids.append((await put(store, key, version_id=f"{key}-v{i}", now=t)).version_id)
        rows = [(key, vid, False, False) for vid in reversed(ids)]
        if deleted:
            t += 1
            out = await store.delete_object("bkt", key, now=t)
            assert out.version_id is not None
            rows.insert(0, (key, out.version_id, True, True))
        else:
            rows[0] = (key, rows[0][1], True, False)
        expected += rows
    return expected


def _rows(versions: list[ObjectVersion]) -> list[tuple[str, str, bool, bool]]:
    return [(v.key, v.version_id, v.is_latest, v.is_delete_marker) for v in versions]


def test_list_object_versions(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        expected = await _versioned_tree(metastore)
        page = await metastore.list_object_versions("bkt")
        assert _rows(list(page.versions)) == expected and not page.is_truncated
        assert (page.next_key_marker, page.next_version_id_marker) == (None, None)
        # Every page size gives the same sequence, resumed from the markers.
        for size in (1, 2, 3, 5):
            got: list[ObjectVersion] = []
            key_marker, id_marker = "", ""
            while True:
                page = await metastore.list_object_versions(
                    "bkt", key_marker=key_marker, version_id_marker=id_marker, max_keys=size
                )
                assert len(page.versions) <= size
                got += page.versions
                if not page.is_truncated:
                    break
                assert page.next_key_marker is not None
                key_marker = page.next_key_marker
                id_marker = page.next_version_id_marker or ""
            assert _rows(got) == expected
        # Prefix, delimiter, and a key marker inside a common prefix.
        page = await metastore.list_object_versions("bkt", delimiter="/")
        assert page.common_prefixes == ["d/"]
        assert [v.key for v in page.versions] == ["a"] * 3 + ["z"] * 2
        page = await metastore.list_object_versions("bkt", delimiter="/", key_marker="d/")
        assert page.common_prefixes == [] and {v.key for v in page.versions} == {"z"}
        page = await metastore.list_object_versions("bkt", prefix="d/")
        assert _rows(list(page.versions)) == [r for r in expected if r[0].startswith("d/")]
        truncated = await metastore.list_object_versions("bkt", delimiter="/", max_keys=4)
        assert truncated.is_truncated and truncated.common_prefixes == ["d/"]
        assert (truncated.next_key_marker, truncated.next_version_id_marker) == ("d/", None)
        with pytest.raises(S3Error) as err:
            await metastore.list_object_versions("nope")
        assert code_of(err) is S3ErrorCode.NO_SUCH_BUCKET
        # An unversioned bucket lists its "null" versions.
        await make_bucket(metastore, "plain")
        await put(metastore, "k", bucket="plain")
        page = await metastore.list_object_versions("plain")
        assert _rows(list(page.versions)) == [("k", NULL_VERSION, True, False)]

    aio.run(body())


# -- tags, retention, legal hold -----------------------------------------------------------------
def test_update_version(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore, versioning="Enabled")
        v1 = await put(metastore, "k", version_id="v1")
        v2 = await put(metastore, "k", version_id="v2", now=NOW + 1)
        assert await metastore.get_object("bkt", "k") == v2  # warm a cache, if any

        def tag(version: ObjectVersion) -> ObjectVersion:
            return replace(version, tags={"a": "1"}, size=999)  # only tags etc. are stored

        updated = await metastore.update_version("bkt", "k", None, tag)
        assert updated is not None and updated.version_id == "v2" and updated.tags == {"a": "1"}
        assert await metastore.get_object("bkt", "k") == replace(v2, tags={"a": "1"})
        lock = await metastore.update_version(
            "bkt",
            "k",
            "v1",
            lambda v: replace(
                v, retention_mode="COMPLIANCE", retain_until=NOW + 99, legal_hold=True
            ),
        )
        assert lock is not None
        stored = await metastore.get_object("bkt", "k", "v1")
        assert stored == replace(
            v1,
            is_latest=False,
            retention_mode="COMPLIANCE",
            retain_until=NOW + 99,
            legal_hold=True,
        )

        def refuse(version: ObjectVersion) -> ObjectVersion:
            raise S3Error(S3ErrorCode.ACCESS_DENIED)

        with pytest.raises(S3Error):
            await metastore.update_version("bkt", "k", "v1", refuse)
        assert await metastore.get_object("bkt", "k", "v1") == stored
        assert await metastore.update_version("bkt", "k", "v9", tag) is None
        assert await metastore.update_version("bkt", "nokey", None, tag) is None
        # The latest may be a delete marker: the change sees it and decides.
        await metastore.delete_object("bkt", "k", now=NOW + 2)
        seen: list[bool] = []

        def look(version: ObjectVersion) -> ObjectVersion:
            seen.append(version.is_delete_marker)
            return version

        await metastore.update_version("bkt", "k", None, look)
        assert seen == [True]

    aio.run(body())


def test_delete_version_check(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore, versioning="Enabled")
        v1 = await put(metastore, "k", version_id="v1")
        v2 = await put(metastore, "k", version_id="v2", now=NOW + 1)
        await put(metastore, "solo", version_id="s1")
        assert await metastore.get_object("bkt", "k") == v2
        calls: list[tuple[str, bool]] = []

        def refuse(version: ObjectVersion, /, *, sole: bool) -> None:
            calls.append((version.version_id, sole))
            raise S3Error(S3ErrorCode.ACCESS_DENIED)

        with pytest.raises(S3Error) as err:
            await metastore.delete_version("bkt", "k", "v2", now=NOW + 2, check=refuse)
        assert code_of(err) is S3ErrorCode.ACCESS_DENIED
        with pytest.raises(S3Error):
            await metastore.delete_version("bkt", "solo", "s1", now=NOW + 2, check=refuse)
        assert calls == [("v2", False), ("s1", True)]
        assert await metastore.get_object("bkt", "k") == v2  # nothing changed
        assert await garbage(metastore) == set()

        def allow(version: ObjectVersion, /, *, sole: bool) -> None:
            calls.append((version.version_id, sole))

        out = await metastore.delete_version("bkt", "k", "v2", now=NOW + 2, check=allow)
        assert out == DeleteOutcome("v2", False)
        assert await metastore.get_object("bkt", "k") == v1  # promoted; cache voided
        assert await garbage(metastore) == set(blob_ids(v2))
        gone = await metastore.delete_version("bkt", "k", "v9", now=NOW + 3, check=allow)
        assert gone == DeleteOutcome(None, False)
        assert calls[-1] == ("v2", False)  # no call for a version that does not exist
        assert await metastore.delete_version("bkt", "k", "v1", now=NOW + 3) == DeleteOutcome(
            "v1", False
        )
        assert await metastore.get_object("bkt", "k") is None

    aio.run(body())


def test_expire_object(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        # Unversioned: the version is removed, only if it is still the one evaluated.
        await make_bucket(metastore, "plain")
        a = await put(metastore, "k", bucket="plain")
        assert await metastore.get_object("plain", "k") == a
        assert (
            await metastore.expire_object(
                "plain", "k", version_id=NULL_VERSION, last_modified=NOW - 1, now=NOW + 5
            )
            is None
        )
        out = await metastore.expire_object(
            "plain", "k", version_id=NULL_VERSION, last_modified=a.last_modified, now=NOW + 5
        )
        assert out == DeleteOutcome(NULL_VERSION, False)
        assert await metastore.get_object("plain", "k") is None
        assert await garbage(metastore) == set(blob_ids(a))
        # Versioned: a delete marker on top; a marker is never expired again.
        await make_bucket(metastore, versioning="Enabled")
        v1 = await put(metastore, "k", version_id="v1")
        assert (
            await metastore.expire_object(
                "bkt", "k", version_id="v0", last_modified=v1.last_modified, now=NOW + 5
            )
            is None
        )
        out = await metastore.expire_object(
            "bkt", "k", version_id="v1", last_modified=v1.last_modified, now=NOW + 5
        )
        assert out is not None and out.delete_marker
        latest = await metastore.get_object("bkt", "k")
        assert latest is not None and latest.is_delete_marker
        assert latest.last_modified == NOW + 5
        assert await metastore.get_object("bkt", "k", "v1") == replace(v1, is_latest=False)
        again = await metastore.expire_object(
            "bkt", "k", version_id="v1", last_modified=v1.last_modified, now=NOW + 6
        )
        assert again is None
        assert (
            await metastore.expire_object(
                "bkt", "nokey", version_id="v1", last_modified=NOW, now=NOW
            )
            is None
        )

    aio.run(body())


# -- uploads -----------------------------------------------------------------------------------
def test_upload_retention(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        fields = RetentionFields({"a": "1"}, "GOVERNANCE", NOW + 100, True)
        with pytest.raises(S3Error) as err:
            await metastore.put_upload_retention("bkt", "k", "u-none", fields)
        assert code_of(err) is S3ErrorCode.NO_SUCH_UPLOAD
        for upload_id in ("u1", "u2"):
            await metastore.create_upload(Upload("bkt", "k", upload_id, NOW, owner="alice"))
        with pytest.raises(S3Error):  # an upload of another key is no upload at all
            await metastore.put_upload_retention("bkt", "other", "u1", fields)
        await metastore.put_upload_retention("bkt", "k", "u1", fields)
        assert await metastore.get_upload_retention("u1") == fields
        assert await metastore.get_upload_retention("u2") is None
        await metastore.abort_upload("bkt", "k", "u1", now=NOW)
        assert await metastore.get_upload_retention("u1") is None  # gone with the upload
        await metastore.put_upload_retention("bkt", "k", "u2", RetentionFields())
        await metastore.delete_bucket("bkt")  # uploads do not keep a bucket alive
        assert await metastore.get_upload_retention("u2") is None

    aio.run(body())
