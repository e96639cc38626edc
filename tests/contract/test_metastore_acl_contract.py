"""The ACL methods of the MetaStore contract (gateway/meta/base.py): versions and uploads
carry their ACL, put_object_acl sets one version's, accounts resolve by e-mail address.

Runs against every METASTORE_FACTORIES entry: SQLite, PostgreSQL, and PostgreSQL behind
the Redis cache (where a stale cached head would show the old ACL).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import NULL_VERSION, MetaStore, ObjectVersion
from tests.contract.test_metastore_contract import NOW, make_bucket, put
from tests.contract.test_metastore_multipart_contract import add_part, upload_of, version_from

PUBLIC = (
    '{"owner":"o","grants":[["Group","http://acs.amazonaws.com/groups/global/AllUsers","READ"]]}'
)
PRIVATE = '{"owner":"o","grants":[["CanonicalUser","o","FULL_CONTROL"]]}'


def code_of(exc: pytest.ExceptionInfo[S3Error]) -> S3ErrorCode:
    return exc.value.code


async def _latest(store: MetaStore, key: str) -> ObjectVersion:
    got = await store.get_object("bkt", key)
    assert got is not None
    return got


def test_version_acl_is_stored(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        plain = await put(metastore, "plain")
        assert plain.acl is None and (await _latest(metastore, "plain")).acl is None
        stored = await metastore.put_object(ObjectVersion("bkt", "k", "v1", NOW, acl=PUBLIC))
        assert stored.acl == PUBLIC
        assert (await _latest(metastore, "k")).acl == PUBLIC

    aio.run(body())


def test_put_object_acl(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        await put(metastore, "k")
        assert (await _latest(metastore, "k")).acl is None  # cached as private
        updated = await metastore.put_object_acl("bkt", "k", None, PUBLIC)
        assert (updated.version_id, updated.acl) == (NULL_VERSION, PUBLIC)
        assert (await _latest(metastore, "k")).acl == PUBLIC  # the cached head was voided
        await metastore.put_object_acl("bkt", "k", NULL_VERSION, None)
        assert (await _latest(metastore, "k")).acl is None
        with pytest.raises(S3Error) as info:
            await metastore.put_object_acl("bkt", "missing", None, PUBLIC)
        assert code_of(info) is S3ErrorCode.NO_SUCH_KEY
        with pytest.raises(S3Error) as info:
            await metastore.put_object_acl("bkt", "k", "nope", PUBLIC)
        assert code_of(info) is S3ErrorCode.NO_SUCH_VERSION

    aio.run(body())


def test_put_object_acl_versions(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore, versioning="Enabled")
        old = await put(metastore, "k")
        new = await put(metastore, "k")
        await metastore.put_object_acl("bkt", "k", old.version_id, PUBLIC)
        # Only the named version changes.
        got_old = await metastore.get_object("bkt", "k", old.version_id)
        assert got_old is not None and got_old.acl == PUBLIC
        assert (await _latest(metastore, "k")).acl is None
        await metastore.put_object_acl("bkt", "k", None, PRIVATE)
        got_new = await metastore.get_object("bkt", "k", new.version_id)
        assert got_new is not None and got_new.acl == PRIVATE
        listed = await metastore.list_object_versions("bkt")
        assert [(v.version_id, v.acl) for v in listed.versions] == [
            (new.version_id, PRIVATE),
            (old.version_id, PUBLIC),
        ]
        # A delete marker has no ACL: latest, NoSuchKey; named, MethodNotAllowed.
        outcome = await metastore.delete_object("bkt", "k", now=NOW + 1)
        assert outcome.delete_marker and outcome.version_id is not None
        with pytest.raises(S3Error) as info:
            await metastore.put_object_acl("bkt", "k", None, PUBLIC)
        assert code_of(info) is S3ErrorCode.NO_SUCH_KEY
        with pytest.raises(S3Error) as info:
            await metastore.put_object_acl("bkt", "k", outcome.version_id, PUBLIC)
        assert code_of(info) is S3ErrorCode.METHOD_NOT_ALLOWED

    aio.run(body())


def test_upload_acl_reaches_completed_version(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await make_bucket(metastore)
        u = upload_of("k", acl=PUBLIC)
        await metastore.create_upload(u)
        got = await metastore.get_upload("bkt", "k", u.upload_id)
        assert got is not None and got.acl == PUBLIC
        listed = await metastore.list_uploads("bkt")
        assert [x.acl for x in listed.uploads] == [PUBLIC]
        part = await add_part(metastore, u, 1)
        version = replace(version_from(u, [part]), acl=u.acl)
        stored = await metastore.complete_upload(u.upload_id, version, parts_digest="d")
        assert stored.acl == PUBLIC
        assert (await _latest(metastore, "k")).acl == PUBLIC

    aio.run(body())


def test_accounts_by_email(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await metastore.create_user("bob", now=NOW)
        await metastore.create_user("carol", now=NOW)
        assert (await metastore.get_user("bob")) is not None
        assert await metastore.accounts_by_email("bob@example.com") == []
        assert await metastore.set_user_email("bob", "Bob@Example.com") is True
        assert await metastore.set_user_email("ghost", "g@example.com") is False
        user = await metastore.get_user("bob")
        assert user is not None and user.email == "Bob@Example.com"
        assert await metastore.accounts_by_email("bob@example.COM") == ["bob"]
        await metastore.set_user_email("carol", "bob@example.com")
        assert await metastore.accounts_by_email("bob@example.com") == ["bob", "carol"]
        await metastore.set_user_email("bob", None)
        assert await metastore.accounts_by_email("bob@example.com") == ["carol"]

    aio.run(body())
