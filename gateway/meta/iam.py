"""IAM users, groups, managed and inline policies, user access keys: transaction bodies.

Written once for SQLite and PostgreSQL (gateway/meta/sql.py). Everything lives inside an
account (`users.name`); bodies raise auth.iam.errors.IamError as the IAM API answers.

Races: a body that adds something hanging off a user, group or policy (a key, a policy, a
membership, an attachment) first reads its parent FOR KEY SHARE; a delete first reads
the entity FOR UPDATE and only then checks that nothing hangs off it. So on PostgreSQL a
delete and an addition serialize on the parent row: either the addition lands first and
the delete sees it (DeleteConflict), or the delete lands first and the addition finds no
parent (NoSuchEntity). SQLite's write transactions are serial anyway.

Pages: rows ordered by name, `max_items + 1` read to know whether more follow; the next
page's marker is the last name returned (IAM's Marker is opaque to the client).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from auth.iam.errors import IamError, IamErrorCode, already_exists, no_such_entity
from gateway.meta.base import AccessKey, IamGroup, IamPage, IamPolicy, IamUser, PolicyOwnerKind
from gateway.meta.rows import access_key_from_row
from gateway.meta.sql import Lock, Tx, execute, marks, one, rows, value

T = TypeVar("T")

# IAM quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
MAX_KEYS_PER_USER = 2
MAX_GROUPS_PER_USER = 10
MAX_ATTACHED_PER_OWNER = 10
# Aggregate size of an owner's inline policies, in non-whitespace characters.
INLINE_QUOTA = {"user": 2048, "group": 5120, "role": 10240}

_TABLE = {"user": "iam_users", "group": "iam_groups", "role": "iam_roles"}


def _user(r: Any) -> IamUser:
    return IamUser(r["account"], r["name"], r["user_id"], r["path"], r["created"])


def _group(r: Any) -> IamGroup:
    return IamGroup(r["account"], r["name"], r["group_id"], r["path"], r["created"])


def _policy(r: Any) -> IamPolicy:
    return IamPolicy(
        r["account"],
        r["name"],
        r["policy_id"],
        r["path"],
        r["document"],
        r["created"],
        r["updated"],
        r["description"],
        int(r["attachment_count"]),
    )


def _page(found: list[Any], max_items: int, build: Callable[[Any], T], name: str) -> IamPage[T]:
    items = tuple(build(r) for r in found[:max_items])
    truncated = len(found) > max_items
    return IamPage(items, truncated, str(found[max_items - 1][name]) if truncated else None)


def _chars(document: str) -> int:
    """Policy size as IAM counts it: characters other than whitespace."""
    return sum(not c.isspace() for c in document)


# -- parents ------------------------------------------------------------------------------------


def _need_account(account: str) -> Tx[None]:
    found = yield from value("SELECT 1 FROM users WHERE name = ?", account, lock="KEY SHARE")
    if found is None:
        raise IamError(IamErrorCode.NO_SUCH_ENTITY, f"The account {account} cannot be found.")


def _need(
    kind: PolicyOwnerKind, account: str, name: str, lock: Lock | None = "KEY SHARE"
) -> Tx[None]:
    found = yield from value(
        f"SELECT 1 FROM {_TABLE[kind]} WHERE account = ? AND name = ?", account, name, lock=lock
    )
    if found is None:
        raise no_such_entity(kind, name)


def _need_policy(account: str, name: str, lock: Lock | None = "KEY SHARE") -> Tx[None]:
    found = yield from value(
        "SELECT 1 FROM iam_policies WHERE account = ? AND name = ?", account, name, lock=lock
    )
    if found is None:
        raise IamError(IamErrorCode.NO_SUCH_ENTITY, f"Policy {name} was not found.")


def _exists(sql: str, *args: Any) -> Tx[bool]:
    return (yield from value(f"SELECT EXISTS ({sql})", *args)) in (True, 1)


def _name_taken(table: str, account: str, name: str) -> Tx[bool]:
    """IAM names are unique regardless of case: "John" and "john" cannot both exist."""
    return (
        yield from _exists(
            f"SELECT 1 FROM {table} WHERE account = ? AND lower(name) = lower(CAST(? AS TEXT))",
            account,
            name,
        )
    )


# -- one shape for users, groups and roles ------------------------------------------------------


def get_entity(
    kind: PolicyOwnerKind, account: str, name: str, build: Callable[[Any], T]
) -> Tx[T | None]:
    row = yield from one(
        f"SELECT * FROM {_TABLE[kind]} WHERE account = ? AND name = ?", account, name
    )
    return None if row is None else build(row)


def list_entities(
    kind: PolicyOwnerKind,
    account: str,
    build: Callable[[Any], T],
    *,
    path_prefix: str,
    marker: str,
    max_items: int,
) -> Tx[IamPage[T]]:
    found = yield from rows(
        f"SELECT * FROM {_TABLE[kind]} WHERE account = ? AND substr(path, 1, ?) = ? AND name > ?"
        " ORDER BY name LIMIT ?",
        account,
        len(path_prefix),
        path_prefix,
        marker,
        max_items + 1,
    )
    return _page(found, max_items, build, "name")


def policy_conflicts(kind: PolicyOwnerKind) -> tuple[tuple[str, str], ...]:
    """What keeps a user, group or role from being deleted: its inline and attached policies."""
    return (
        (
            "SELECT 1 FROM iam_inline_policies"
            f" WHERE account = ? AND kind = '{kind}' AND owner = ?",
            "Cannot delete entity, must delete policies first.",
        ),
        (
            f"SELECT 1 FROM iam_attachments WHERE account = ? AND kind = '{kind}' AND owner = ?",
            "Cannot delete entity, must detach all policies first.",
        ),
    )


def create_entity(kind: PolicyOwnerKind, account: str, name: str, **columns: object) -> Tx[None]:
    """Insert the user, group or role `name` of `account` with its other `columns`;
    EntityAlreadyExists if the name is taken, in any case, also by a concurrent insert."""
    table = _TABLE[kind]
    yield from _need_account(account)
    if (yield from _name_taken(table, account, name)):
        raise already_exists(kind, name)
    done = yield from value(
        f"INSERT INTO {table} (account, name, {', '.join(columns)})"
        f" VALUES ({marks(2 + len(columns))})"
        " ON CONFLICT (account, name) DO NOTHING RETURNING TRUE",
        account,
        name,
        *columns.values(),
    )
    if not done:
        raise already_exists(kind, name)


def delete_entity(
    kind: PolicyOwnerKind, account: str, name: str, conflicts: tuple[tuple[str, str], ...]
) -> Tx[None]:
    """Lock the entity, refuse (DeleteConflict) while anything in `conflicts` (queries taking
    account and name) still hangs off it, then delete it."""
    yield from _need(kind, account, name, lock="UPDATE")
    for sql, message in conflicts:
        if (yield from _exists(sql, account, name)):
            raise IamError(IamErrorCode.DELETE_CONFLICT, message)
    yield from execute(f"DELETE FROM {_TABLE[kind]} WHERE account = ? AND name = ?", account, name)


# -- users ---------------------------------------------------------------------------------------


def create_iam_user(account: str, name: str, *, path: str, user_id: str, now: float) -> Tx[IamUser]:
    yield from create_entity("user", account, name, user_id=user_id, path=path, created=now)
    return IamUser(account, name, user_id, path, now)


def get_iam_user(account: str, name: str) -> Tx[IamUser | None]:
    return (yield from get_entity("user", account, name, _user))


def list_iam_users(
    account: str, *, path_prefix: str = "/", marker: str = "", max_items: int = 100
) -> Tx[IamPage[IamUser]]:
    return (
        yield from list_entities(
            "user", account, _user, path_prefix=path_prefix, marker=marker, max_items=max_items
        )
    )


def delete_iam_user(account: str, name: str) -> Tx[None]:
    keys = (
        "SELECT 1 FROM access_keys WHERE user_name = ? AND iam_user = ?",
        "Cannot delete entity, must delete access keys first.",
    )
    groups = (
        "SELECT 1 FROM iam_group_members WHERE account = ? AND user_name = ?",
        "Cannot delete entity, must remove users from group first.",
    )
    yield from delete_entity("user", account, name, (keys, *policy_conflicts("user"), groups))


# -- access keys of IAM users ----------------------------------------------------------------------


def create_user_access_key(
    account: str, user: str, access_key: str, secret_key: str, *, now: float
) -> Tx[AccessKey]:
    yield from _need("user", account, user)
    count = yield from value(
        "SELECT count(*) FROM access_keys WHERE user_name = ? AND iam_user = ?", account, user
    )
    if count >= MAX_KEYS_PER_USER:
        raise IamError(
            IamErrorCode.LIMIT_EXCEEDED,
            f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}",
        )
    done = yield from value(
        "INSERT INTO access_keys (access_key, secret_key, user_name, created, is_root, iam_user,"
        " active) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (access_key) DO NOTHING RETURNING TRUE",
        access_key,
        secret_key,
        account,
        now,
        False,
        user,
        True,
    )
    if not done:
        raise IamError(IamErrorCode.ENTITY_ALREADY_EXISTS, "The access key already exists.")
    return AccessKey(access_key, secret_key, account, now, False, user, True)


def list_user_access_keys(account: str, user: str) -> Tx[list[AccessKey]]:
    yield from _need("user", account, user, lock=None)
    found = yield from rows(
        "SELECT * FROM access_keys WHERE user_name = ? AND iam_user = ?"
        " ORDER BY created, access_key",
        account,
        user,
    )
    return [access_key_from_row(r) for r in found]


def _no_such_key(access_key: str) -> IamError:
    return IamError(
        IamErrorCode.NO_SUCH_ENTITY, f"The Access Key with id {access_key} cannot be found."
    )


def update_access_key_status(account: str, user: str, access_key: str, *, active: bool) -> Tx[None]:
    yield from _need("user", account, user, lock=None)
    changed = yield from execute(
        "UPDATE access_keys SET active = ? WHERE access_key = ? AND user_name = ? AND iam_user = ?",
        active,
        access_key,
        account,
        user,
    )
    if not changed:
        raise _no_such_key(access_key)


def delete_user_access_key(account: str, user: str, access_key: str) -> Tx[None]:
    yield from _need("user", account, user, lock=None)
    changed = yield from execute(
        "DELETE FROM access_keys WHERE access_key = ? AND user_name = ? AND iam_user = ?",
        access_key,
        account,
        user,
    )
    if not changed:
        raise _no_such_key(access_key)


# -- inline policies -------------------------------------------------------------------------------


def put_inline_policy(
    account: str, kind: PolicyOwnerKind, owner: str, name: str, document: str
) -> Tx[None]:
    yield from _need(kind, account, owner)
    others = yield from rows(
        "SELECT document FROM iam_inline_policies"
        " WHERE account = ? AND kind = ? AND owner = ? AND name <> ?",
        account,
        kind,
        owner,
        name,
    )
    quota = INLINE_QUOTA[kind]
    if sum(_chars(r["document"]) for r in others) + _chars(document) > quota:
        which = f"{kind.capitalize()}PolicySize"
        message = f"Maximum policy size of {quota} bytes exceeded for {kind} {owner} ({which})."
        raise IamError(IamErrorCode.LIMIT_EXCEEDED, message)
    yield from execute(
        "INSERT INTO iam_inline_policies (account, kind, owner, name, document)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, kind, owner, name)"
        " DO UPDATE SET document = excluded.document",
        account,
        kind,
        owner,
        name,
        document,
    )


def get_inline_policy(account: str, kind: PolicyOwnerKind, owner: str, name: str) -> Tx[str]:
    yield from _need(kind, account, owner, lock=None)
    document = yield from value(
        "SELECT document FROM iam_inline_policies"
        " WHERE account = ? AND kind = ? AND owner = ? AND name = ?",
        account,
        kind,
        owner,
        name,
    )
    if document is None:
        raise IamError(
            IamErrorCode.NO_SUCH_ENTITY,
            f"The {kind} policy with name {name} cannot be found.",
        )
    return str(document)


def list_inline_policies(
    account: str, kind: PolicyOwnerKind, owner: str, *, marker: str = "", max_items: int = 100
) -> Tx[IamPage[str]]:
    yield from _need(kind, account, owner, lock=None)
    found = yield from rows(
        "SELECT name FROM iam_inline_policies WHERE account = ? AND kind = ? AND owner = ?"
        " AND name > ? ORDER BY name LIMIT ?",
        account,
        kind,
        owner,
        marker,
        max_items + 1,
    )
    return _page(found, max_items, lambda r: str(r["name"]), "name")


def delete_inline_policy(account: str, kind: PolicyOwnerKind, owner: str, name: str) -> Tx[None]:
    yield from _need(kind, account, owner, lock=None)
    changed = yield from execute(
        "DELETE FROM iam_inline_policies WHERE account = ? AND kind = ? AND owner = ? AND name = ?",
        account,
        kind,
        owner,
        name,
    )
    if not changed:
        raise IamError(
            IamErrorCode.NO_SUCH_ENTITY,
            f"The {kind} policy with name {name} cannot be found.",
        )


# -- groups ----------------------------------------------------------------------------------------


def create_iam_group(
    account: str, name: str, *, path: str, group_id: str, now: float
) -> Tx[IamGroup]:
    yield from create_entity("group", account, name, group_id=group_id, path=path, created=now)
    return IamGroup(account, name, group_id, path, now)


def get_iam_group(account: str, name: str) -> Tx[IamGroup | None]:
    return (yield from get_entity("group", account, name, _group))


def list_iam_groups(
    account: str, *, path_prefix: str = "/", marker: str = "", max_items: int = 100
) -> Tx[IamPage[IamGroup]]:
    return (
        yield from list_entities(
            "group", account, _group, path_prefix=path_prefix, marker=marker, max_items=max_items
        )
    )


def list_group_members(
    account: str, group: str, *, marker: str = "", max_items: int = 100
) -> Tx[IamPage[IamUser]]:
    yield from _need("group", account, group, lock=None)
    found = yield from rows(
        "SELECT u.* FROM iam_group_members m"
        " JOIN iam_users u ON u.account = m.account AND u.name = m.user_name"
        " WHERE m.account = ? AND m.group_name = ? AND u.name > ? ORDER BY u.name LIMIT ?",
        account,
        group,
        marker,
        max_items + 1,
    )
    return _page(found, max_items, _user, "name")


def delete_iam_group(account: str, name: str) -> Tx[None]:
    members = (
        "SELECT 1 FROM iam_group_members WHERE account = ? AND group_name = ?",
        "Cannot delete entity, must remove users from group first.",
    )
    yield from delete_entity("group", account, name, (members, *policy_conflicts("group")))


def add_user_to_group(account: str, group: str, user: str) -> Tx[None]:
    yield from _need("group", account, group)
    yield from _need("user", account, user)
    member = yield from _exists(
        "SELECT 1 FROM iam_group_members WHERE account = ? AND group_name = ? AND user_name = ?",
        account,
        group,
        user,
    )
    if member:
        return  # AddUserToGroup is idempotent
    count = yield from value(
        "SELECT count(*) FROM iam_group_members WHERE account = ? AND user_name = ?", account, user
    )
    if count >= MAX_GROUPS_PER_USER:
        raise IamError(
            IamErrorCode.LIMIT_EXCEEDED,
            f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}",
        )
    yield from execute(
        "INSERT INTO iam_group_members (account, group_name, user_name) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        account,
        group,
        user,
    )


def remove_user_from_group(account: str, group: str, user: str) -> Tx[None]:
    yield from _need("group", account, group, lock=None)
    yield from _need("user", account, user, lock=None)
    changed = yield from execute(
        "DELETE FROM iam_group_members WHERE account = ? AND group_name = ? AND user_name = ?",
        account,
        group,
        user,
    )
    if not changed:
        raise IamError(
            IamErrorCode.NO_SUCH_ENTITY, f"The user {user} is not a member of group {group}."
        )


def list_groups_for_user(
    account: str, user: str, *, marker: str = "", max_items: int = 100
) -> Tx[IamPage[IamGroup]]:
    yield from _need("user", account, user, lock=None)
    found = yield from rows(
        "SELECT g.* FROM iam_group_members m"
        " JOIN iam_groups g ON g.account = m.account AND g.name = m.group_name"
        " WHERE m.account = ? AND m.user_name = ? AND g.name > ? ORDER BY g.name LIMIT ?",
        account,
        user,
        marker,
        max_items + 1,
    )
    return _page(found, max_items, _group, "name")


# -- managed policies ------------------------------------------------------------------------------

_POLICY_COLUMNS = (
    "p.*, (SELECT count(*) FROM iam_attachments a"
    " WHERE a.account = p.account AND a.policy_name = p.name) AS attachment_count"
)


def create_iam_policy(
    account: str,
    name: str,
    *,
    path: str,
    policy_id: str,
    document: str,
    description: str | None,
    now: float,
) -> Tx[IamPolicy]:
    yield from _need_account(account)
    if (yield from _name_taken("iam_policies", account, name)):
        raise IamError(
            IamErrorCode.ENTITY_ALREADY_EXISTS, f"A policy called {name} already exists."
        )
    done = yield from value(
        "INSERT INTO iam_policies (account, name, policy_id, path, document, description,"
        " created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (account, name) DO NOTHING RETURNING TRUE",
        account,
        name,
        policy_id,
        path,
        document,
        description,
        now,
        now,
    )
    if not done:
        raise IamError(
            IamErrorCode.ENTITY_ALREADY_EXISTS, f"A policy called {name} already exists."
        )
    return IamPolicy(account, name, policy_id, path, document, now, now, description)


def get_iam_policy(account: str, name: str) -> Tx[IamPolicy | None]:
    row = yield from one(
        f"SELECT {_POLICY_COLUMNS} FROM iam_policies p WHERE p.account = ? AND p.name = ?",
        account,
        name,
    )
    return None if row is None else _policy(row)


def list_iam_policies(
    account: str,
    *,
    path_prefix: str = "/",
    only_attached: bool = False,
    marker: str = "",
    max_items: int = 100,
) -> Tx[IamPage[IamPolicy]]:
    attached = (
        " AND EXISTS (SELECT 1 FROM iam_attachments a"
        " WHERE a.account = p.account AND a.policy_name = p.name)"
        if only_attached
        else ""
    )
    found = yield from rows(
        f"SELECT {_POLICY_COLUMNS} FROM iam_policies p"
        f" WHERE p.account = ? AND substr(p.path, 1, ?) = ? AND p.name > ?{attached}"
        " ORDER BY p.name LIMIT ?",
        account,
        len(path_prefix),
        path_prefix,
        marker,
        max_items + 1,
    )
    return _page(found, max_items, _policy, "name")


def delete_iam_policy(account: str, name: str) -> Tx[None]:
    yield from _need_policy(account, name, lock="UPDATE")
    attached = "SELECT 1 FROM iam_attachments WHERE account = ? AND policy_name = ?"
    if (yield from _exists(attached, account, name)):
        raise IamError(IamErrorCode.DELETE_CONFLICT, "Cannot delete a policy attached to entities.")
    yield from execute("DELETE FROM iam_policies WHERE account = ? AND name = ?", account, name)


def attach_policy(account: str, kind: PolicyOwnerKind, owner: str, policy: str) -> Tx[None]:
    yield from _need(kind, account, owner)
    yield from _need_policy(account, policy)
    attached = yield from _exists(
        "SELECT 1 FROM iam_attachments"
        " WHERE account = ? AND kind = ? AND owner = ? AND policy_name = ?",
        account,
        kind,
        owner,
        policy,
    )
    if attached:
        return  # attaching twice changes nothing, as in IAM
    count = yield from value(
        "SELECT count(*) FROM iam_attachments WHERE account = ? AND kind = ? AND owner = ?",
        account,
        kind,
        owner,
    )
    if count >= MAX_ATTACHED_PER_OWNER:
        which = f"AttachedPoliciesPer{kind.capitalize()}"
        raise IamError(
            IamErrorCode.LIMIT_EXCEEDED,
            f"Cannot exceed quota for {which}: {MAX_ATTACHED_PER_OWNER}",
        )
    yield from execute(
        "INSERT INTO iam_attachments (account, kind, owner, policy_name) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        account,
        kind,
        owner,
        policy,
    )


def detach_policy(account: str, kind: PolicyOwnerKind, owner: str, policy: str) -> Tx[None]:
    yield from _need(kind, account, owner, lock=None)
    yield from _need_policy(account, policy, lock=None)
    changed = yield from execute(
        "DELETE FROM iam_attachments"
        " WHERE account = ? AND kind = ? AND owner = ? AND policy_name = ?",
        account,
        kind,
        owner,
        policy,
    )
    if not changed:
        raise IamError(
            IamErrorCode.NO_SUCH_ENTITY, f"Policy {policy} was not attached to {kind} {owner}."
        )


def list_attached_policies(
    account: str,
    kind: PolicyOwnerKind,
    owner: str,
    *,
    path_prefix: str = "/",
    marker: str = "",
    max_items: int = 100,
) -> Tx[IamPage[IamPolicy]]:
    yield from _need(kind, account, owner, lock=None)
    found = yield from rows(
        f"SELECT {_POLICY_COLUMNS} FROM iam_attachments t"
        " JOIN iam_policies p ON p.account = t.account AND p.name = t.policy_name"
        " WHERE t.account = ? AND t.kind = ? AND t.owner = ? AND substr(p.path, 1, ?) = ?"
        " AND p.name > ? ORDER BY p.name LIMIT ?",
        account,
        kind,
        owner,
        len(path_prefix),
        path_prefix,
        marker,
        max_items + 1,
    )
    return _page(found, max_items, _policy, "name")
