"""Users and access keys: the MetaStore's account methods as transaction bodies.

Inserts are `ON CONFLICT DO NOTHING RETURNING TRUE`: of racing creators exactly one gets a
row back, the others a KeyError, without an aborted transaction on PostgreSQL.
"""

from __future__ import annotations

from gateway.meta.base import AccessKey, User
from gateway.meta.rows import access_key_from_row, user_from_row
from gateway.meta.sql import Tx, execute, one, rows, value


def create_user(name: str, *, is_root: bool = False, now: float) -> Tx[User]:
    done = yield from value(
        "INSERT INTO users (name, created, is_root) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO NOTHING RETURNING TRUE",
        name,
        now,
        is_root,
    )
    if not done:
        raise KeyError(f"user {name!r} exists")
    return User(name, now, is_root)


def get_user(name: str) -> Tx[User | None]:
    row = yield from one("SELECT * FROM users WHERE name = ?", name)
    return None if row is None else user_from_row(row)


def list_users() -> Tx[list[User]]:
    return [user_from_row(r) for r in (yield from rows("SELECT * FROM users ORDER BY name"))]


def delete_user(name: str) -> Tx[bool]:
    yield from execute("DELETE FROM access_keys WHERE user_name = ?", name)
    return (yield from execute("DELETE FROM users WHERE name = ?", name)) > 0


def set_user_email(name: str, email: str | None) -> Tx[bool]:
    return (yield from execute("UPDATE users SET email = ? WHERE name = ?", email, name)) > 0


def accounts_by_email(email: str) -> Tx[list[str]]:
    found = yield from rows(
        "SELECT name FROM users WHERE LOWER(email) = LOWER(?) ORDER BY name", email
    )
    return [r["name"] for r in found]


def create_access_key(user: str, access_key: str, secret_key: str, *, now: float) -> Tx[AccessKey]:
    # KEY SHARE: a racing delete_user waits, so no key outlives its user.
    owner = yield from one("SELECT is_root FROM users WHERE name = ?", user, lock="KEY SHARE")
    if owner is None:
        raise KeyError(f"no user {user!r}")
    key = AccessKey(access_key, secret_key, user, now, bool(owner["is_root"]))
    done = yield from value(
        "INSERT INTO access_keys (access_key, secret_key, user_name, created, is_root)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (access_key) DO NOTHING RETURNING TRUE",
        key.access_key,
        key.secret_key,
        key.user,
        key.created,
        key.is_root,
    )
    if not done:
        raise KeyError(f"access key {access_key!r} exists")
    return key


def get_access_key(access_key: str) -> Tx[AccessKey | None]:
    row = yield from one("SELECT * FROM access_keys WHERE access_key = ?", access_key)
    return None if row is None else access_key_from_row(row)


def list_access_keys(user: str) -> Tx[list[AccessKey]]:
    found = yield from rows(
        "SELECT * FROM access_keys WHERE user_name = ? ORDER BY created, access_key", user
    )
    return [access_key_from_row(r) for r in found]


def reseal_access_key(access_key: str, stored: str, sealed: str) -> Tx[bool]:
    changed = yield from execute(
        "UPDATE access_keys SET secret_key = ? WHERE access_key = ? AND secret_key = ?",
        sealed,
        access_key,
        stored,
    )
    return changed > 0


def set_access_key_active(user: str, access_key: str, active: bool) -> Tx[bool]:
    """Activate or deactivate an account's own key (its IAM users' keys are IAM's:
    iam.update_access_key_status); False if `user` has no such key."""
    changed = yield from execute(
        "UPDATE access_keys SET active = ? WHERE access_key = ? AND user_name = ?"
        " AND iam_user IS NULL",
        active,
        access_key,
        user,
    )
    return changed > 0


def delete_access_key(access_key: str) -> Tx[bool]:
    return (yield from execute("DELETE FROM access_keys WHERE access_key = ?", access_key)) > 0
