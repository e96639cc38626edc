"""The MetaStore's IAM methods (gateway/meta/iam.py) on every METASTORE_FACTORIES entry:
users, their keys, groups, inline and managed policies, refusals and pages."""

from __future__ import annotations

import asyncio
import json

import pytest

from auth.iam.errors import IamError, IamErrorCode
from gateway.meta.base import MetaStore

NOW = 1_700_000_000.0
DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)


def code_of(exc: pytest.ExceptionInfo[IamError]) -> IamErrorCode:
    return exc.value.code


async def account(store: MetaStore, name: str = "alice") -> str:
    await store.create_user(name, now=NOW)
    return name


async def user(store: MetaStore, name: str, acct: str = "alice", path: str = "/") -> None:
    await store.create_iam_user(acct, name, path=path, user_id=f"AIDA{name.upper()}", now=NOW)


async def group(store: MetaStore, name: str, acct: str = "alice") -> None:
    await store.create_iam_group(acct, name, path="/", group_id=f"AGPA{name.upper()}", now=NOW)


async def policy(store: MetaStore, name: str, acct: str = "alice", path: str = "/") -> None:
    await store.create_iam_policy(
        acct, name, path=path, policy_id=f"ANPA{name.upper()}", document=DOC,
        description=None, now=NOW,
    )  # fmt: skip


def test_iam_user_create_get_list_delete(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await account(metastore)
        await account(metastore, "bob")
        created = await metastore.create_iam_user(
            "alice", "dev", path="/team/", user_id="AIDAX", now=NOW
        )
        assert (created.account, created.name, created.path) == ("alice", "dev", "/team/")
        assert await metastore.get_iam_user("alice", "dev") == created
        assert await metastore.get_iam_user("bob", "dev") is None  # accounts are separate
        await user(metastore, "dev", acct="bob")  # the same name in another account
        with pytest.raises(IamError) as exc:
            await user(metastore, "DEV")  # names are unique regardless of case
        assert code_of(exc) is IamErrorCode.ENTITY_ALREADY_EXISTS
        with pytest.raises(IamError) as exc:
            await user(metastore, "x", acct="nobody")
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY
        await user(metastore, "ops")
        page = await metastore.list_iam_users("alice")
        assert [u.name for u in page.items] == ["dev", "ops"]
        assert not page.is_truncated and page.marker is None
        team = await metastore.list_iam_users("alice", path_prefix="/team/")
        assert [u.name for u in team.items] == ["dev"]
        await metastore.delete_iam_user("alice", "dev")
        assert await metastore.get_iam_user("alice", "dev") is None
        with pytest.raises(IamError) as exc:
            await metastore.delete_iam_user("alice", "dev")
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY
        assert await metastore.get_iam_user("bob", "dev") is not None

    aio.run(body())


def test_iam_listing_pages_by_marker(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await account(metastore)
        names = [f"u{i:02d}" for i in range(7)]
        for name in reversed(names):
            await user(metastore, name)
        seen: list[str] = []
        marker = ""
        while True:
            page = await metastore.list_iam_users("alice", marker=marker, max_items=3)
            seen += [u.name for u in page.items]
            if not page.is_truncated:
                break
            assert page.marker == page.items[-1].name
            marker = page.marker
        assert seen == names

    aio.run(body())


def test_user_access_keys(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await account(metastore)
        await user(metastore, "dev")
        key = await metastore.create_user_access_key("alice", "dev", "KVA1", "s1", now=NOW)
        assert (key.user, key.iam_user, key.active, key.is_root) == ("alice", "dev", True, False)
        assert await metastore.get_access_key("KVA1") == key
        await metastore.create_user_access_key("alice", "dev", "KVA2", "s2", now=NOW + 1)
        with pytest.raises(IamError) as exc:
            await metastore.create_user_access_key("alice", "dev", "KVA3", "s3", now=NOW)
        assert code_of(exc) is IamErrorCode.LIMIT_EXCEEDED
        keys = await metastore.list_user_access_keys("alice", "dev")
        assert [k.access_key for k in keys] == ["KVA1", "KVA2"]
        # The account's own keys are not the user's.
        await metastore.create_access_key("alice", "KVOWN", "s", now=NOW)
        assert [k.access_key for k in await metastore.list_user_access_keys("alice", "dev")] == [
            "KVA1",
            "KVA2",
        ]

        await metastore.update_access_key_status("alice", "dev", "KVA1", active=False)
        stored = await metastore.get_access_key("KVA1")  # read through the cache, if any
        assert stored is not None and not stored.active
        await metastore.update_access_key_status("alice", "dev", "KVA1", active=True)
        stored = await metastore.get_access_key("KVA1")
        assert stored is not None and stored.active
        with pytest.raises(IamError) as exc:  # not this user's key
            await metastore.update_access_key_status("alice", "dev", "KVOWN", active=False)
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY

        with pytest.raises(IamError) as exc:
            await metastore.delete_iam_user("alice", "dev")
        assert code_of(exc) is IamErrorCode.DELETE_CONFLICT
        await metastore.delete_user_access_key("alice", "dev", "KVA1")
        await metastore.delete_user_access_key("alice", "dev", "KVA2")
        assert await metastore.get_access_key("KVA1") is None
        with pytest.raises(IamError) as exc:
            await metastore.delete_user_access_key("alice", "dev", "KVA1")
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY
        await metastore.delete_iam_user("alice", "dev")
        with pytest.raises(IamError) as exc:
            await metastore.create_user_access_key("alice", "dev", "KVA4", "s", now=NOW)
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY

    aio.run(body())


def test_inline_policies_of_users_and_groups(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await account(metastore)
        await user(metastore, "dev")
        await group(metastore, "devs")
        await metastore.put_inline_policy("alice", "user", "dev", "b", DOC)
        await metastore.put_inline_policy("alice", "user", "dev", "a", DOC)
        await metastore.put_inline_policy("alice", "group", "devs", "g", DOC)
        replaced = DOC.replace("s3:*", "s3:GetObject")
        await metastore.put_inline_policy("alice", "user", "dev", "a", replaced)
        assert await metastore.get_inline_policy("alice", "user", "dev", "a") == replaced
        assert (await metastore.list_inline_policies("alice", "user", "dev")).items == ("a", "b")
        assert (await metastore.list_inline_policies("alice", "group", "devs")).items == ("g",)
        first = await metastore.list_inline_policies("alice", "user", "dev", max_items=1)
        assert (first.items, first.is_truncated, first.marker) == (("a",), True, "a")

        with pytest.raises(IamError) as exc:
            await metastore.get_inline_policy("alice", "user", "dev", "nope")
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY
        with pytest.raises(IamError) as exc:
            await metastore.put_inline_policy("alice", "user", "ghost", "a", DOC)
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY
        # The user's inline policies together stay within 2,048 characters.
        big = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{'x' * 900}"}
        ]})  # fmt: skip
        await metastore.put_inline_policy("alice", "user", "dev", "big1", big)
        with pytest.raises(IamError) as exc:
            await metastore.put_inline_policy("alice", "user", "dev", "big2", big)
        assert code_of(exc) is IamErrorCode.LIMIT_EXCEEDED

        with pytest.raises(IamError) as exc:
            await metastore.delete_iam_user("alice", "dev")
        assert code_of(exc) is IamErrorCode.DELETE_CONFLICT
        for name in ("a", "b", "big1"):
            await metastore.delete_inline_policy("alice", "user", "dev", name)
        with pytest.raises(IamError) as exc:
            await metastore.delete_inline_policy("alice", "user", "dev", "a")
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY
        await metastore.delete_iam_user("alice", "dev")

    aio.run(body())


def test_groups_members_and_conflicts(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await account(metastore)
        await user(metastore, "dev")
        await user(metastore, "ops")
        await group(metastore, "devs")
        await group(metastore, "all")
        with pytest.raises(IamError) as exc:
            await group(metastore, "DEVS")
        assert code_of(exc) is IamErrorCode.ENTITY_ALREADY_EXISTS
        assert [g.name for g in (await metastore.list_iam_groups("alice")).items] == [
            "all",
            "devs",
        ]
        await metastore.add_user_to_group("alice", "devs", "dev")
        await metastore.add_user_to_group("alice", "devs", "dev")  # idempotent
        await metastore.add_user_to_group("alice", "all", "dev")
        await metastore.add_user_to_group("alice", "all", "ops")
        members = await metastore.list_group_members("alice", "all")
        assert [u.name for u in members.items] == ["dev", "ops"]
        groups = await metastore.list_groups_for_user("alice", "dev")
        assert [g.name for g in groups.items] == ["all", "devs"]
        with pytest.raises(IamError) as exc:
            await metastore.add_user_to_group("alice", "devs", "ghost")
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY

        with pytest.raises(IamError) as exc:
            await metastore.delete_iam_group("alice", "devs")
        assert code_of(exc) is IamErrorCode.DELETE_CONFLICT
        with pytest.raises(IamError) as exc:
            await metastore.delete_iam_user("alice", "dev")  # still a member
        assert code_of(exc) is IamErrorCode.DELETE_CONFLICT
        await metastore.remove_user_from_group("alice", "devs", "dev")
        with pytest.raises(IamError) as exc:
            await metastore.remove_user_from_group("alice", "devs", "dev")
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY
        await metastore.delete_iam_group("alice", "devs")
        assert await metastore.get_iam_group("alice", "devs") is None

        # A group's policies count in its user's identity.
        await metastore.put_inline_policy("alice", "group", "all", "read", DOC)
        identity = await metastore.get_identity("alice", "ops")
        assert identity is not None
        assert [source for source, _ in identity.policies] == ["group/all/inline/read"]
        with pytest.raises(IamError) as exc:
            await metastore.delete_iam_group("alice", "all")
        assert code_of(exc) is IamErrorCode.DELETE_CONFLICT

    aio.run(body())


def test_managed_policies_attach_detach(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await account(metastore)
        await user(metastore, "dev")
        await group(metastore, "devs")
        await policy(metastore, "ReadAll")
        await policy(metastore, "Ops", path="/ops/")
        with pytest.raises(IamError) as exc:
            await policy(metastore, "readall")
        assert code_of(exc) is IamErrorCode.ENTITY_ALREADY_EXISTS
        got = await metastore.get_iam_policy("alice", "ReadAll")
        assert got is not None and (got.document, got.attachment_count) == (DOC, 0)

        await metastore.attach_policy("alice", "user", "dev", "ReadAll")
        await metastore.attach_policy("alice", "user", "dev", "ReadAll")  # idempotent
        await metastore.attach_policy("alice", "group", "devs", "ReadAll")
        got = await metastore.get_iam_policy("alice", "ReadAll")
        assert got is not None and got.attachment_count == 2
        with pytest.raises(IamError) as exc:
            await metastore.attach_policy("alice", "user", "dev", "Nope")
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY
        attached = await metastore.list_attached_policies("alice", "user", "dev")
        assert [p.name for p in attached.items] == ["ReadAll"]
        only = await metastore.list_iam_policies("alice", only_attached=True)
        assert [p.name for p in only.items] == ["ReadAll"]
        ops = await metastore.list_iam_policies("alice", path_prefix="/ops/")
        assert [p.name for p in ops.items] == ["Ops"]
        identity = await metastore.get_identity("alice", "dev")
        assert identity is not None
        assert [s for s, _ in identity.policies] == ["user/dev/attached/ReadAll"]

        with pytest.raises(IamError) as exc:
            await metastore.delete_iam_policy("alice", "ReadAll")
        assert code_of(exc) is IamErrorCode.DELETE_CONFLICT
        with pytest.raises(IamError) as exc:
            await metastore.delete_iam_user("alice", "dev")
        assert code_of(exc) is IamErrorCode.DELETE_CONFLICT
        await metastore.detach_policy("alice", "user", "dev", "ReadAll")
        await metastore.detach_policy("alice", "group", "devs", "ReadAll")
        with pytest.raises(IamError) as exc:
            await metastore.detach_policy("alice", "user", "dev", "ReadAll")
        assert code_of(exc) is IamErrorCode.NO_SUCH_ENTITY
        await metastore.delete_iam_policy("alice", "ReadAll")
        assert await metastore.get_iam_policy("alice", "ReadAll") is None
        await metastore.delete_iam_user("alice", "dev")
        await metastore.delete_iam_group("alice", "devs")

    aio.run(body())


def test_attached_policy_quota(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await account(metastore)
        await user(metastore, "dev")
        for i in range(11):
            await policy(metastore, f"p{i:02d}")
        for i in range(10):
            await metastore.attach_policy("alice", "user", "dev", f"p{i:02d}")
        with pytest.raises(IamError) as exc:
            await metastore.attach_policy("alice", "user", "dev", "p10")
        assert code_of(exc) is IamErrorCode.LIMIT_EXCEEDED

    aio.run(body())


def test_deleting_the_account_takes_its_iam_entities(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await account(metastore)
        await user(metastore, "dev")
        await metastore.create_user_access_key("alice", "dev", "KVDEV", "s", now=NOW)
        assert await metastore.get_access_key("KVDEV") is not None
        assert await metastore.delete_user("alice")
        assert await metastore.get_access_key("KVDEV") is None
        await account(metastore)
        assert await metastore.get_iam_user("alice", "dev") is None

    aio.run(body())
