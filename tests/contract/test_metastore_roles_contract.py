"""The MetaStore's role, OpenID Connect provider and STS session methods
(gateway/meta/roles.py) on every METASTORE_FACTORIES entry."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from auth.iam.errors import IamError, IamErrorCode
from gateway.meta.base import IamRole, MetaStore, OidcProvider, StsSession

NOW = 1_700_000_000.0
DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
)


def role(name: str, acct: str = "alice") -> IamRole:
    return IamRole(acct, name, f"AROA{name.upper()}", "/", TRUST, 3600, NOW)


def session(key: str, role_name: str | None, acct: str = "alice") -> StsSession:
    return StsSession(
        key, "secret", "ab" * 32, acct, role_name, None, "s", None, "arn:x", NOW, NOW + 900
    )


def test_roles(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await metastore.create_user("alice", now=NOW)
        created = await metastore.create_iam_role(role("reader"))
        assert await metastore.get_iam_role("alice", "reader") == created
        with pytest.raises(IamError) as exc:
            await metastore.create_iam_role(role("READER"))
        assert exc.value.code is IamErrorCode.ENTITY_ALREADY_EXISTS
        await metastore.create_iam_role(role("writer"))
        page = await metastore.list_iam_roles("alice", max_items=1)
        assert [r.name for r in page.items] == ["reader"] and page.is_truncated
        await metastore.update_iam_role(
            "alice", "reader", trust_policy="{}", max_session_duration=7200
        )
        changed = await metastore.get_iam_role("alice", "reader")
        assert changed is not None
        assert (changed.trust_policy, changed.max_session_duration) == ("{}", 7200)
        with pytest.raises(IamError) as exc:
            await metastore.update_iam_role("alice", "nobody", trust_policy="{}")
        assert exc.value.code is IamErrorCode.NO_SUCH_ENTITY

        await metastore.put_inline_policy("alice", "role", "reader", "inline", DOC)
        await metastore.create_iam_policy(
            "alice", "managed", path="/", policy_id="ANPAM", document=DOC,
            description=None, now=NOW,
        )  # fmt: skip
        await metastore.attach_policy("alice", "role", "reader", "managed")
        identity = await metastore.get_role_identity("alice", "reader")
        assert identity is not None and identity.is_role
        assert [s for s, _ in identity.policies] == [
            "role/reader/attached/managed",
            "role/reader/inline/inline",
        ]
        with pytest.raises(IamError) as exc:
            await metastore.delete_iam_role("alice", "reader")
        assert exc.value.code is IamErrorCode.DELETE_CONFLICT
        await metastore.detach_policy("alice", "role", "reader", "managed")
        await metastore.delete_inline_policy("alice", "role", "reader", "inline")
        await metastore.delete_iam_role("alice", "reader")
        assert await metastore.get_role_identity("alice", "reader") is None

    aio.run(body())


def test_sessions_end_with_their_role_and_on_revocation(
    metastore: MetaStore, aio: asyncio.Runner
) -> None:
    async def body() -> None:
        await metastore.create_user("alice", now=NOW)
        await metastore.create_iam_role(role("r"))
        await metastore.create_sts_session(session("ASIA1", "r"))
        await metastore.create_sts_session(session("ASIA2", "r"))
        await metastore.create_sts_session(session("ASIA3", None))
        assert await metastore.get_sts_session("ASIA1") == session("ASIA1", "r")
        assert await metastore.revoke_sts_sessions("alice", access_key="ASIA2", now=NOW) == 1
        revoked = await metastore.get_sts_session("ASIA2")
        assert revoked is not None and revoked.revoked
        await metastore.delete_iam_role("alice", "r")
        assert await metastore.get_sts_session("ASIA1") is None
        await metastore.create_iam_role(role("r"))  # the same name again: still revoked
        again = await metastore.get_sts_session("ASIA1")
        assert again is not None and again.revoked
        assert await metastore.get_sts_session("ASIA3") == session("ASIA3", None)
        # Expired rows go on the next revocation.
        assert await metastore.revoke_sts_sessions("alice", now=NOW + 1000) == 0
        assert await metastore.get_sts_session("ASIA3") is None

    aio.run(body())


def test_oidc_providers(metastore: MetaStore, aio: asyncio.Runner) -> None:
    async def body() -> None:
        await metastore.create_user("alice", now=NOW)
        provider = OidcProvider("alice", "idp.example.com", ("app",), ("a" * 40,), NOW)
        await metastore.create_oidc_provider(provider)
        assert await metastore.get_oidc_provider("alice", "idp.example.com") == provider
        with pytest.raises(IamError) as exc:
            await metastore.create_oidc_provider(dataclasses.replace(provider, client_ids=()))
        assert exc.value.code is IamErrorCode.ENTITY_ALREADY_EXISTS
        assert await metastore.list_oidc_providers("alice") == [provider]
        await metastore.delete_oidc_provider("alice", "idp.example.com")
        with pytest.raises(IamError) as exc:
            await metastore.delete_oidc_provider("alice", "idp.example.com")
        assert exc.value.code is IamErrorCode.NO_SUCH_ENTITY

    aio.run(body())
