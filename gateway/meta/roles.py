"""IAM roles, OpenID Connect providers and STS sessions: transaction bodies.

Written once for SQLite and PostgreSQL (gateway/meta/sql.py), with gateway/meta/iam.py's
conventions: bodies raise auth.iam.errors.IamError; a delete reads its entity FOR UPDATE
before checking what hangs off it (a role's inline and attached policies: rows of kind
'role' in iam_inline_policies / iam_attachments, which lock the role FOR KEY SHARE).

A session row names its role by name: deleting the role makes `get_sts_session` answer
None, so its temporary credentials stop working on every replica within the credential
cache's TTL (gateway/meta/cached.py does not cache sessions).
"""

from __future__ import annotations

import json
from typing import Any

from auth.iam.errors import IamError, IamErrorCode, no_such_entity
from gateway.meta.base import IamIdentity, IamPage, IamRole, OidcProvider, StsSession
from gateway.meta.iam import (
    _need_account,
    create_entity,
    delete_entity,
    get_entity,
    list_entities,
    policy_conflicts,
)
from gateway.meta.sql import Tx, execute, one, rows, value

_ROLE_POLICIES = """
SELECT 'role/' || i.owner || '/inline/' || i.name AS source, i.document
  FROM iam_inline_policies i
 WHERE i.account = ? AND i.kind = 'role' AND i.owner = ?
UNION ALL
SELECT 'role/' || a.owner || '/attached/' || p.name, p.document
  FROM iam_attachments a JOIN iam_policies p ON p.account = a.account AND p.name = a.policy_name
 WHERE a.account = ? AND a.kind = 'role' AND a.owner = ?
"""


def _role(r: Any) -> IamRole:
    return IamRole(
        r["account"],
        r["name"],
        r["role_id"],
        r["path"],
        r["trust_policy"],
        int(r["max_session_duration"]),
        r["created"],
        r["description"],
    )


def _provider(r: Any) -> OidcProvider:
    return OidcProvider(
        r["account"],
        r["url"],
        tuple(json.loads(r["client_ids"])),
        tuple(json.loads(r["thumbprints"])),
        r["created"],
    )


def _session(r: Any) -> StsSession:
    return StsSession(
        r["access_key"],
        r["secret_key"],
        r["token_sha256"],
        r["account"],
        r["role"],
        r["iam_user"],
        r["session_name"],
        r["session_policy"],
        r["source"],
        r["created"],
        r["expires"],
        bool(r["revoked"]),
    )


# -- roles ---------------------------------------------------------------------------------------


def create_iam_role(role: IamRole) -> Tx[IamRole]:
    yield from create_entity(
        "role",
        role.account,
        role.name,
        role_id=role.role_id,
        path=role.path,
        trust_policy=role.trust_policy,
        description=role.description,
        max_session_duration=role.max_session_duration,
        created=role.created,
    )
    return role


def get_iam_role(account: str, name: str) -> Tx[IamRole | None]:
    return (yield from get_entity("role", account, name, _role))


def list_iam_roles(
    account: str, *, path_prefix: str = "/", marker: str = "", max_items: int = 100
) -> Tx[IamPage[IamRole]]:
    return (
        yield from list_entities(
            "role", account, _role, path_prefix=path_prefix, marker=marker, max_items=max_items
        )
    )


def delete_iam_role(account: str, name: str) -> Tx[None]:
    yield from delete_entity("role", account, name, policy_conflicts("role"))
    # A role created again under the same name must not revive the old sessions.
    yield from execute(
        "UPDATE sts_sessions SET revoked = ? WHERE account = ? AND role = ?", True, account, name
    )


def update_iam_role(
    account: str,
    name: str,
    *,
    trust_policy: str | None = None,
    max_session_duration: int | None = None,
    description: str | None = None,
) -> Tx[None]:
    changed = yield from execute(
        "UPDATE iam_roles SET trust_policy = coalesce(?, trust_policy),"
        " max_session_duration = coalesce(?, max_session_duration),"
        " description = coalesce(?, description) WHERE account = ? AND name = ?",
        trust_policy,
        max_session_duration,
        description,
        account,
        name,
    )
    if not changed:
        raise no_such_entity("role", name)


def get_role_identity(account: str, role: str) -> Tx[IamIdentity | None]:
    found = yield from one(
        "SELECT role_id, path FROM iam_roles WHERE account = ? AND name = ?", account, role
    )
    if found is None:
        return None
    policies = yield from rows(_ROLE_POLICIES, account, role, account, role)
    return IamIdentity(
        account,
        role,
        found["role_id"],
        found["path"],
        tuple(sorted((r["source"], r["document"]) for r in policies)),
        is_role=True,
    )


# -- OpenID Connect providers ----------------------------------------------------------------------


def create_oidc_provider(provider: OidcProvider) -> Tx[OidcProvider]:
    yield from _need_account(provider.account)
    done = yield from value(
        "INSERT INTO iam_oidc_providers (account, url, client_ids, thumbprints, created)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, url) DO NOTHING RETURNING TRUE",
        provider.account,
        provider.url,
        json.dumps(list(provider.client_ids)),
        json.dumps(list(provider.thumbprints)),
        provider.created,
    )
    if not done:
        raise IamError(
            IamErrorCode.ENTITY_ALREADY_EXISTS,
            f"Provider with url https://{provider.url} already exists.",
        )
    return provider


def get_oidc_provider(account: str, url: str) -> Tx[OidcProvider | None]:
    row = yield from one(
        "SELECT * FROM iam_oidc_providers WHERE account = ? AND url = ?", account, url
    )
    return None if row is None else _provider(row)


def list_oidc_providers(account: str) -> Tx[list[OidcProvider]]:
    found = yield from rows(
        "SELECT * FROM iam_oidc_providers WHERE account = ? ORDER BY url", account
    )
    return [_provider(r) for r in found]


def delete_oidc_provider(account: str, url: str) -> Tx[None]:
    changed = yield from execute(
        "DELETE FROM iam_oidc_providers WHERE account = ? AND url = ?", account, url
    )
    if not changed:
        raise IamError(
            IamErrorCode.NO_SUCH_ENTITY, f"OpenIDConnect Provider https://{url} not found."
        )


# -- STS sessions --------------------------------------------------------------------------------


# Expired sessions are kept this long (ExpiredToken rather than InvalidAccessKeyId for
# their keys), then removed by the next session created.
EXPIRED_KEPT_SECONDS = 3600.0


def create_sts_session(session: StsSession) -> Tx[None]:
    yield from execute(
        "DELETE FROM sts_sessions WHERE expires < ?", session.created - EXPIRED_KEPT_SECONDS
    )
    yield from execute(
        "INSERT INTO sts_sessions (access_key, secret_key, token_sha256, account, role,"
        " iam_user, session_name, session_policy, source, created, expires, revoked)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        session.access_key,
        session.secret_key,
        session.token_sha256,
        session.account,
        session.role,
        session.iam_user,
        session.session_name,
        session.session_policy,
        session.source,
        session.created,
        session.expires,
        session.revoked,
    )


def get_sts_session(access_key: str) -> Tx[StsSession | None]:
    row = yield from one(
        "SELECT s.* FROM sts_sessions s WHERE s.access_key = ? AND (s.role IS NULL OR EXISTS"
        " (SELECT 1 FROM iam_roles r WHERE r.account = s.account AND r.name = s.role))",
        access_key,
    )
    return None if row is None else _session(row)


def revoke_sts_sessions(
    account: str, *, role: str | None = None, access_key: str | None = None, now: float
) -> Tx[int]:
    yield from execute("DELETE FROM sts_sessions WHERE expires < ?", now)
    return int(
        (
            yield from execute(
                "UPDATE sts_sessions SET revoked = ? WHERE account = ? AND revoked = ?"
                " AND (CAST(? AS TEXT) IS NULL OR role = ?)"
                " AND (CAST(? AS TEXT) IS NULL OR access_key = ?)",
                True,
                account,
                False,
                role,
                role,
                access_key,
                access_key,
            )
        )
    )
