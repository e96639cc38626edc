"""`kloudvault admin quota set|show|clear` (gateway/limits/quota_admin.py), in-process on a
SQLite data dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway import cli


@pytest.fixture(autouse=True)
def _no_kloudvault_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("KLOUDVAULT_")]:
        monkeypatch.delenv(name)


def test_set_show_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")

    def admin(*argv: str) -> tuple[int, str, str]:
        status = cli.main(["admin", "--data-dir", data, *argv])
        out = capsys.readouterr()
        return status, out.out, out.err

    assert admin("user", "create", "alice")[0] == 0
    assert admin("quota", "set", "--account", "alice", "--bytes", "1GiB", "--objects", "10")[0] == 0
    assert admin("quota", "show") == (
        0,
        "account\talice\tbytes 0/1073741824 (0%)\tobjects 0/10 (0%)\n",
        "",
    )
    assert admin("quota", "set", "--account", "alice", "--objects", "5")[0] == 0  # replaced
    assert "bytes 0/-\tobjects 0/5" in admin("quota", "show", "--account", "alice")[1]
    assert admin("quota", "set", "--bucket", "nope", "--bytes", "1") == (
        1,
        "",
        "no such bucket nope\n",
    )
    assert admin("quota", "set", "--account", "bob", "--bytes", "1")[0] == 1
    assert admin("quota", "set", "--account", "alice")[0] == 2  # no limit given
    assert admin("quota", "clear", "--account", "alice")[0] == 0
    assert admin("quota", "clear", "--account", "alice")[0] == 1
    assert admin("quota", "show") == (0, "", "")
    with pytest.raises(SystemExit):
        admin("quota", "set", "--bucket", "b", "--account", "alice", "--bytes", "1")
