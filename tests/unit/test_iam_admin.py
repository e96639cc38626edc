"""`kloudvault admin iam ...` (gateway/iam_admin.py) in-process, on a SQLite data dir."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway import cli

ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


Admin = Callable[..., tuple[int, str, str]]


@pytest.fixture(autouse=True)
def _no_kloudvault_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("KLOUDVAULT_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def admin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Admin:
    """admin("iam", "create-user", ...) -> (exit status, stdout, stderr)."""
    data = str(tmp_path / "data")

    def run(*argv: str) -> tuple[int, str, str]:
        status = cli.main(["admin", "--data-dir", data, *argv])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    assert run("user", "create", "alice")[0] == 0
    return run


def policy_file(tmp_path: Path, document: object) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_user_key_and_policy_lifecycle(admin: Admin, tmp_path: Path) -> None:
    status, out, _ = admin("iam", "create-user", "--account", "alice", "bob", "--path", "/t/")
    assert status == 0 and "arn:aws:iam::" in out and ":user/t/bob" in out
    status, out, _ = admin("iam", "create-access-key", "--account", "alice", "bob")
    assert status == 0
    key = out.split("access key:")[1].split()[0]
    document = policy_file(tmp_path, ALLOW_S3)
    assert (
        admin(
            "iam", "put-user-policy", "--account", "alice", "bob", "read", "--document", document
        )[0]
        == 0
    )
    status, out, _ = admin("iam", "get-user-policy", "--account", "alice", "bob", "read")
    assert json.loads(out) == ALLOW_S3
    assert admin("iam", "list-users", "--account", "alice")[1].startswith("/t/bob\t")

    status, _, err = admin("iam", "delete-user", "--account", "alice", "bob")
    assert status == 1 and err.startswith("DeleteConflict:")
    assert (
        admin("iam", "update-access-key", "--account", "alice", "bob", key, "--status", "Inactive")[
            0
        ]
        == 0
    )
    assert f"{key}\tInactive" in admin("iam", "list-access-keys", "--account", "alice", "bob")[1]
    assert admin("iam", "delete-access-key", "--account", "alice", "bob", key)[0] == 0
    assert admin("iam", "delete-user-policy", "--account", "alice", "bob", "read")[0] == 0
    assert admin("iam", "delete-user", "--account", "alice", "bob")[0] == 0
    assert admin("iam", "list-users", "--account", "alice")[1] == ""


def test_groups_and_managed_policies(admin: Admin, tmp_path: Path) -> None:
    document = policy_file(tmp_path, ALLOW_S3)
    for argv in (
        ["create-user", "bob"],
        ["create-group", "devs"],
        ["add-user-to-group", "devs", "bob"],
        ["create-policy", "ReadAll", "--document", document, "--description", "read"],
        ["attach-group-policy", "devs", "ReadAll"],
        ["attach-user-policy", "bob", "ReadAll"],
    ):
        assert admin("iam", *argv, "--account", "alice")[0] == 0, argv
    assert admin("iam", "list-groups", "--account", "alice")[1] == "/devs\tbob\n"
    listed = admin("iam", "list-policies", "--account", "alice")[1]
    assert listed == "/ReadAll\t2 attachment(s)\n"
    status, _, err = admin("iam", "delete-policy", "ReadAll", "--account", "alice")
    assert status == 1 and err.startswith("DeleteConflict:")
    for argv in (
        ["detach-group-policy", "devs", "ReadAll"],
        ["detach-user-policy", "bob", "ReadAll"],
        ["delete-policy", "ReadAll"],
        ["remove-user-from-group", "devs", "bob"],
        ["delete-group", "devs"],
    ):
        assert admin("iam", *argv, "--account", "alice")[0] == 0, argv


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["create-user", "--account", "nobody", "bob"], "NoSuchEntity"),
        (["create-user", "bad/name"], "ValidationError"),
        (["create-user", "bob", "--path", "no-slashes"], "ValidationError"),
        (["delete-group", "ghosts", "--account", "alice"], "NoSuchEntity"),
    ],
)
def test_refusals_print_the_iam_error(admin: Admin, argv: list[str], code: str) -> None:
    status, out, err = admin("iam", *argv)
    assert (status, out) == (1, "")
    assert err.startswith(f"{code}:")


def test_malformed_policy_document_is_refused(admin: Admin, tmp_path: Path) -> None:
    assert admin("iam", "create-user", "bob", "--account", "alice")[0] == 0
    bad = policy_file(tmp_path, {"Statement": [{"Effect": "Allow", "Action": "s3:*"}]})
    argv = ["put-user-policy", "bob", "p", "--document", bad, "--account", "alice"]
    status, _, err = admin("iam", *argv)
    assert status == 1 and err.startswith("MalformedPolicyDocument:")


def test_iam_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["admin", "iam", "--help"])
    text = capsys.readouterr().out
    for command in ("create-user", "put-user-policy", "attach-group-policy", "update-access-key"):
        assert command in text


def test_roles_and_oidc_providers(admin: Admin, tmp_path: Path) -> None:
    trust = tmp_path / "trust.json"
    trust.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                ],
            }
        )
    )
    status, out, _ = admin(
        "iam", "create-role", "--account", "alice", "ci", "--trust", str(trust), "--path", "/b/"
    )
    assert status == 0 and ":role/b/ci" in out and "id:    AROA" in out
    status, out, _ = admin("iam", "get-role", "--account", "alice", "ci")
    assert status == 0 and "sts:AssumeRole" in out
    assert admin("iam", "list-roles", "--account", "alice")[1].startswith("/b/ci\t")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(ALLOW_S3))  # a Resource: not a trust policy
    status, _, err = admin("iam", "update-assume-role-policy", "--account", "alice", "ci",
                           "--trust", str(bad))  # fmt: skip
    assert status == 1 and "MalformedPolicyDocument" in err
    document = policy_file(tmp_path, ALLOW_S3)
    put = ("iam", "put-role-policy", "--account", "alice", "ci", "p", "--document", document)
    assert admin(*put)[0] == 0
    assert admin("iam", "list-role-policies", "--account", "alice", "ci")[1] == "p\n"
    status, _, err = admin("iam", "delete-role", "--account", "alice", "ci")
    assert status == 1 and "DeleteConflict" in err
    status, out, _ = admin("iam", "revoke-role-sessions", "--account", "alice", "ci")
    assert status == 0 and "revoked 0 session(s)" in out
    assert admin("iam", "delete-role-policy", "--account", "alice", "ci", "p")[0] == 0
    assert admin("iam", "delete-role", "--account", "alice", "ci")[0] == 0

    url = "https://idp.example.com/realms/x"
    status, out, _ = admin(
        "iam", "create-oidc-provider", "--account", "alice", url, "--client-id", "app"
    )
    assert status == 0 and ":oidc-provider/idp.example.com/realms/x" in out
    assert "app" in admin("iam", "list-oidc-providers", "--account", "alice")[1]
    status, _, err = admin("iam", "create-oidc-provider", "--account", "alice",
                           "http://idp.example.com", "--client-id", "a")  # fmt: skip
    assert status == 1 and "ValidationError" in err  # http only on loopback
    assert admin("iam", "delete-oidc-provider", "--account", "alice", url)[0] == 0
    assert admin("iam", "list-oidc-providers", "--account", "alice")[1] == ""
