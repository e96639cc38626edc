"""gateway/admin/paths.py and the one rule of who may call the admin API."""

from __future__ import annotations

import pytest

from auth.credentials import Principal
from gateway.admin.api import is_admin
from gateway.admin.paths import is_admin_path


@pytest.mark.parametrize(
    ("host", "path", "domain", "expected"),
    [
        ("h:1", "/_kv/admin", None, True),
        ("h:1", "/_kv/admin/usage", None, True),
        ("h:1", "/_kv/administer", None, False),
        ("h:1", "/_kv/console/admin", None, False),
        ("b.s3.test", "/_kv/admin/usage", "s3.test", False),  # a key of bucket "b"
    ],
)
def test_is_admin_path(host: str, path: str, domain: str | None, expected: bool) -> None:
    assert is_admin_path(host, path, domain) is expected


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (Principal("root", "AK", is_root=True), True),
        (Principal("root", "AK", is_root=True, iam_user="ops"), False),
        (Principal("alice", "AK"), False),
        (Principal("alice", "AK", is_root=True), False),  # only the account named root
        (Principal(None), False),
    ],
)
def test_only_the_root_accounts_own_keys_administer(principal: Principal, expected: bool) -> None:
    assert is_admin(principal) is expected
