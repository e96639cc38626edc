"""gateway/cli.py in-process: where each command takes its settings flags, what its --help
lists, and a backend whose SDK is missing failing in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from auth.credentials import account_id, canonical_id
from gateway import cli
from gateway.app import make_backend
from gateway.settings import Settings, flag_name, from_argv, load

# serve's own flags: no admin or lifecycle command reads them.
SERVE_ONLY = ["--listen", "--workers", "--tls-cert", "--tls-key", "--region", "--domain"]
SERVE_ONLY += ["--gc-interval", "--pending-ttl", "--lifecycle-interval", "--access-log"]
S3_FLAGS = ["--s3-endpoint", "http://127.0.0.1:9", "--s3-access-key", "a", "--s3-secret-key", "s"]


@pytest.fixture(autouse=True)
def _no_kloudvault_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the flags under test, not from the environment running the tests."""
    for name in [n for n in os.environ if n.startswith("KLOUDVAULT_")]:
        monkeypatch.delenv(name)


def parse(*argv: str) -> Settings:
    return load(cli.build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ["admin", "user", "create", "alice", "--data-dir", "D"],
        ["admin", "--data-dir", "D", "user", "create", "alice"],
        ["admin", "--data-dir", "elsewhere", "user", "create", "alice", "--data-dir", "D"],
        ["admin", "user", "create", "--data-dir", "D", "alice"],
    ],
)
def test_admin_options_before_or_after_the_subcommand(argv: list[str]) -> None:
    args = cli.build_parser().parse_args(argv)
    assert (args.admin_what, args.action, args.name) == ("user", "create", "alice")
    assert load(args).data_dir == "D"  # the flag nearest the end wins


@pytest.mark.parametrize(
    "argv",
    [
        ["admin", "key", "delete", "alice", "KV1", "--metadata-url", "sqlite:///m.db"],
        ["admin", "--metadata-url", "sqlite:///m.db", "key", "delete", "alice", "KV1"],
    ],
)
def test_admin_key_options_before_or_after(argv: list[str]) -> None:
    args = cli.build_parser().parse_args(argv)
    assert (args.user, args.access_key) == ("alice", "KV1")
    assert load(args).sqlite_path == "m.db"


def test_admin_options_absent_keep_their_defaults() -> None:
    settings = parse("admin", "user", "list")
    assert (settings.data_dir, settings.metadata_url) == ("./data", None)


@pytest.mark.parametrize(
    "argv",
    [
        ["admin", "scrub", "--backend", "memory", "--delete-orphans", "--log-level", "DEBUG"],
        ["admin", "--backend", "memory", "--log-level", "DEBUG", "scrub", "--delete-orphans"],
    ],
)
def test_scrub_takes_backend_options_on_either_side(argv: list[str]) -> None:
    args = cli.build_parser().parse_args(argv)
    assert (args.delete_orphans, args.orphan_grace) == (True, 86400.0)
    settings = load(args)
    assert (settings.backend, settings.log_level) == ("memory", "DEBUG")


@pytest.mark.parametrize(
    "argv",
    [
        ["lifecycle", "run", "--data-dir", "D", "--max-retention-days", "3"],
        ["lifecycle", "--data-dir", "D", "--max-retention-days", "3", "run"],
    ],
)
def test_lifecycle_run_options_before_or_after(argv: list[str]) -> None:
    settings = parse(*argv)
    assert (settings.data_dir, settings.max_retention_days) == ("D", 3)


@pytest.mark.parametrize(
    "argv",
    [
        ["admin", "user", "list", "--listen", "0.0.0.0:80"],
        ["admin", "--workers=4", "user", "list"],
    ],
)
def test_admin_refuses_serve_options(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(argv)
    assert exc.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def help_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args([*argv, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "command",
    [["admin"], ["admin", "user", "create"], ["admin", "key", "list"], ["admin", "scrub"]]
    + [["lifecycle"], ["lifecycle", "run"]],
)
def test_admin_and_lifecycle_help_list_only_their_options(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_of(capsys, *command)
    for flag in ["--config", "--data-dir", "--metadata-url", "--redis-url"]:
        assert flag in text
    for flag in SERVE_ONLY:
        assert flag not in text


def test_user_commands_help_has_no_backend_options(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys, "admin", "user", "create")
    assert "--backend" not in text and "--s3-endpoint" not in text
    assert "--s3-endpoint" in help_of(capsys, "admin", "scrub")


def test_serve_help_lists_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys, "serve")
    assert "--config" in text
    for f in fields(Settings):
        assert flag_name(f.name) in text


def test_admin_user_create_then_list_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    assert cli.main(["admin", "user", "create", "alice", "--data-dir", data]) == 0
    out = capsys.readouterr().out
    assert "user:       alice" in out and "access key: KV" in out
    assert cli.main(["admin", "--data-dir", data, "user", "list"]) == 0
    assert f"alice\t{account_id('alice')}\t1 key(s)" in capsys.readouterr().out
    # Another data dir is another store: alice is not there.
    assert cli.main(["admin", "user", "list", "--data-dir", str(tmp_path / "other")]) == 0
    assert "alice" not in capsys.readouterr().out


def test_admin_user_show_and_set_email(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    assert (
        cli.main(
            ["admin", "user", "create", "bob", "--email", "bob@example.com", "--data-dir", data]
        )
        == 0
    )
    capsys.readouterr()
    assert cli.main(["admin", "user", "show", "bob", "--data-dir", data]) == 0
    out = capsys.readouterr().out
    assert f"canonical id: {canonical_id('bob')}" in out and "bob@example.com" in out
    assert cli.main(["admin", "user", "set-email", "bob", "b@example.org", "--data-dir", data]) == 0
    assert "b@example.org" in capsys.readouterr().out
    assert cli.main(["admin", "user", "show", "nobody", "--data-dir", data]) == 1


def hide_sdk(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    """Make `import backends.<backend>` fail as it does when the SDK is not installed: a
    None in sys.modules makes importing that name raise ModuleNotFoundError (submodules
    too: another test may have imported them already)."""
    sdk = {"s3": "aiobotocore", "azure": "azure.storage.blob"}[backend]
    for name in [sdk, *(n for n in sys.modules if n.startswith(f"{sdk}."))]:
        monkeypatch.setitem(sys.modules, name, None)
    for name in [n for n in sys.modules if n.startswith(f"backends.{backend}")]:
        monkeypatch.delitem(sys.modules, name)


@pytest.mark.parametrize(
    ("backend", "flags", "sdk"),
    [
        ("s3", S3_FLAGS, "aiobotocore"),
        ("azure", ["--azure-connection-string", "x"], "azure-storage-blob"),
    ],
)
def test_missing_sdk_is_one_line(
    backend: str, flags: list[str], sdk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hide_sdk(monkeypatch, backend)
    with pytest.raises(SystemExit) as exc:
        make_backend(from_argv(["--backend", backend, *flags]))
    message = str(exc.value.code)
    assert message.startswith(f"--backend {backend} needs {sdk}, but module ")
    assert "\n" not in message and "pip install ." in message
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


def test_serve_with_missing_sdk_fails_before_the_banner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hide_sdk(monkeypatch, "s3")

    async def no_bootstrap(settings: Settings) -> tuple[str, str, bool]:
        raise AssertionError("serve went past the backend check")

    monkeypatch.setattr(cli, "_bootstrap", no_bootstrap)
    argv = ["serve", "--backend", "s3", *S3_FLAGS, "--data-dir", str(tmp_path)]
    with pytest.raises(
        SystemExit, match=r"^--backend s3 needs aiobotocore, but module 'aiobotocore"
    ):
        cli.main(argv)
    assert capsys.readouterr().out == ""
    assert not (tmp_path / "meta.sqlite3").exists()


def test_scrub_with_missing_sdk_fails_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hide_sdk(monkeypatch, "azure")
    argv = ["admin", "scrub", "--backend", "azure", "--azure-connection-string", "x"]
    with pytest.raises(
        SystemExit, match=r"^--backend azure needs azure-storage-blob, but module 'azure"
    ):
        cli.main([*argv, "--data-dir", str(tmp_path)])


def test_serving_raises_the_open_files_limit_to_the_hard_one() -> None:
    """In a child process (limits are per process): started with a soft limit of 256."""
    code = (
        "import resource\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "from gateway.cli import raise_open_files_limit\n"
        "raise_open_files_limit()\n"
        "print(*resource.getrlimit(resource.RLIMIT_NOFILE))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    soft, hard = (int(x) for x in out.stdout.split())
    assert soft > 256
    assert soft == hard or hard == -1  # RLIM_INFINITY: raised to 2**20


def test_a_serving_worker_collects_young_objects_less_often_and_never_walks_its_startup() -> None:
    """tune_collector, in a process of its own: what exists when the worker starts serving
    is frozen out of collections, and the young generation waits for 50,000 objects."""
    code = (
        "import gc\n"
        "from gateway.cli import tune_collector\n"
        "before = gc.get_threshold()\n"
        "kept = [[] for _ in range(1000)]\n"
        "tune_collector()\n"
        "print(gc.get_freeze_count(), *before, *gc.get_threshold())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    frozen, *thresholds = (int(x) for x in out.stdout.split())
    assert frozen > 1000  # the lists above, and every module's objects
    assert thresholds[0] == 700 and thresholds[3] == cli.GC_YOUNG_THRESHOLD
    assert thresholds[1:3] == thresholds[4:6]  # the older generations keep their defaults
