"""Backend selection from Settings: timeouts reach the backends, the banner hides secrets."""

from __future__ import annotations

import pytest

from gateway.app import make_backend
from gateway.cli import _banner
from gateway.settings import from_argv, load

SECRET = "KvBannerSecret0123456789"
S3 = ["--backend", "s3", "--s3-endpoint", "http://127.0.0.1:9000", "--s3-access-key", "ak"]


def test_backend_timeouts_reach_the_s3_backend() -> None:
    settings = from_argv([*S3, "--s3-secret-key", SECRET, "--backend-timeout", "2.5"])
    backend = make_backend(settings)
    config = backend._config  # type: ignore[attr-defined]
    assert (config.connect_timeout, config.read_timeout) == (2.5, 2.5)
    assert config.retries["max_attempts"] == 3  # the gateway's default
    settings = from_argv([*S3, "--s3-secret-key", SECRET, "--backend-attempts", "1"])
    config = make_backend(settings)._config  # type: ignore[attr-defined]
    assert (config.connect_timeout, config.read_timeout) == (5.0, 30.0)
    assert config.retries["max_attempts"] == 1


def test_backend_timeouts_reach_the_azure_backend() -> None:
    settings = from_argv(
        ["--backend", "azure", "--azure-connection-string", "x", "--backend-attempts", "2"]
    )
    backend = make_backend(settings)
    assert backend._timeouts == (5.0, 30.0)  # type: ignore[attr-defined]
    assert backend._max_attempts == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("flags", [["--backend-timeout", "0"], ["--backend-attempts", "0"]])
def test_backend_timeouts_validated(flags: list[str]) -> None:
    with pytest.raises(SystemExit):
        from_argv([*S3, "--s3-secret-key", SECRET, *flags])


@pytest.mark.parametrize(
    ("argv", "shown", "hidden"),
    [
        (
            ["--backend", "s3", "--s3-endpoint", f"https://user:{SECRET}@minio:9000/"]
            + ["--s3-access-key", "ak", "--s3-secret-key", SECRET, "--s3-prefix", "kv/"],
            "bucket 'kloudvault' at https://minio:9000/, key prefix 'kv/'",
            SECRET,
        ),
        (
            ["--backend", "azure", "--azure-account-url"]
            + [f"https://acct.blob.core.windows.net/?sv=2024&sig={SECRET}"]
            + ["--azure-account-key", SECRET, "--azure-container", "c"],
            "container 'c' at https://acct.blob.core.windows.net/",
            SECRET,
        ),
        (
            ["--backend", "azure", "--azure-connection-string", f"AccountKey={SECRET}"],
            "container 'kloudvault' (account from the connection string)",
            SECRET,
        ),
    ],
)
def test_banner_names_the_store_not_its_secrets(argv: list[str], shown: str, hidden: str) -> None:
    banner = _banner(from_argv(argv), "AK", "SK", created=True)
    assert shown in banner
    assert hidden not in banner


def test_metrics_listen_and_token() -> None:
    settings = from_argv(["--metrics-listen", "0.0.0.0:9464", "--metrics-token", "t0k"])
    assert settings.metrics_address == ("0.0.0.0", 9464)
    assert settings.redacted()["metrics_token"] == "***"
    assert from_argv([]).metrics_address is None


@pytest.mark.parametrize("value", ["9464", "host:", "host:port", "h:70000", "127.0.0.1:7373"])
def test_metrics_listen_validated(value: str) -> None:
    with pytest.raises(SystemExit, match="--metrics-listen"):
        from_argv(["--metrics-listen", value])


def test_website_listen_and_domain() -> None:
    settings = from_argv(["--website-listen", "0.0.0.0:8081", "--website-domain", "web.test"])
    assert settings.website_address == ("0.0.0.0", 8081)
    assert settings.website_domain == "web.test"
    assert "website:    http://BUCKET.web.test:8081/" in _banner(settings, "AK", "SK", False)
    assert from_argv([]).website_address is None


@pytest.mark.parametrize(
    "argv",
    [
        ["--website-listen", "8081"],
        ["--website-listen", "h:70000"],
        ["--website-listen", "127.0.0.1:7373"],  # the S3 port
        ["--domain", "s3.test", "--website-domain", "s3.test"],
    ],
)
def test_website_settings_validated(argv: list[str]) -> None:
    with pytest.raises(SystemExit, match="--website-"):
        from_argv(argv)


def test_console_listen() -> None:
    settings = from_argv(["--console-listen", "0.0.0.0:8082"])
    assert settings.console_address == ("0.0.0.0", 8082)
    assert "console:    http://127.0.0.1:8082/console/" in _banner(settings, "AK", "SK", False)
    assert "console:    http://127.0.0.1:7373/console/" in _banner(from_argv([]), "AK", "SK", False)
    assert from_argv([]).console_address is None


@pytest.mark.parametrize(
    "value",
    ["8082", "h:70000", "127.0.0.1:7373"],  # the last: the S3 port
)
def test_console_listen_validated(value: str) -> None:
    with pytest.raises(SystemExit, match="--console-listen"):
        from_argv(["--console-listen", value])


def test_scan_settings_from_flags_and_environment() -> None:
    settings = from_argv(["--scan", "clamd://127.0.0.1:3310", "--scan-mode", "async"])
    assert (settings.scan, settings.scan_mode, settings.scan_fail) == (
        "clamd://127.0.0.1:3310",
        "async",
        "closed",
    )
    from_env = load(
        None, {"KLOUDVAULT_SCAN": "clamd:///run/clamd.sock", "KLOUDVAULT_SCAN_FAIL": "open"}
    )
    assert (from_env.scan, from_env.scan_mode, from_env.scan_fail) == (
        "clamd:///run/clamd.sock",
        "inline",
        "open",
    )


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        (["--scan", "tcp://127.0.0.1:3310"], "--scan must be"),
        (["--scan-mode", "later"], "--scan-mode"),
        (["--scan-fail", "maybe"], "--scan-fail"),
        (["--scan-concurrency", "0"], "--scan-concurrency"),
    ],
)
def test_scan_settings_validated(flags: list[str], problem: str) -> None:
    with pytest.raises(SystemExit, match=problem):
        from_argv(flags)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("bus=mqtt://u:pw-secret@127.0.0.1:1883?topik=t", "unknown option 'topik'"),
        ("bus=nats://127.0.0.1:4222", r"needs \?subject="),
        ("bus=ftp://u:pw-secret@h/x", "want NAME=URL"),
        ("bus", "want NAME=URL"),
    ],
)
def test_notify_targets_validated_at_start(entry: str, problem: str) -> None:
    """As `admin target add` does: refused at start, not dead-lettered at delivery; the
    message never shows the URL's password."""
    with pytest.raises(SystemExit, match=problem) as caught:
        from_argv(["--notify-target", entry])
    assert "pw-secret" not in str(caught.value)
    good = "bus=redis://127.0.0.1:6379/0?stream=s"
    assert from_argv(["--notify-target", good]).notify_target == (good,)


def test_console_oidc_settings() -> None:
    settings = from_argv(
        [
            "--console-oidc-issuer", "https://idp.example",
            "--console-oidc-client-id", "console",
            "--console-oidc-role-arn", "arn:aws:iam::123456789012:role/console",
        ]
    )  # fmt: skip
    assert settings.console_oidc_issuer == "https://idp.example"
    assert settings.console_oidc_client_secret is None


@pytest.mark.parametrize(
    "flags",
    [
        ["--console-oidc-issuer", "https://idp.example"],
        ["--console-oidc-issuer", "https://idp.example", "--console-oidc-client-id", "c"],
        ["--console-oidc-role-arn", "arn:aws:iam::123456789012:role/console"],
    ],
)
def test_console_oidc_settings_go_together(flags: list[str]) -> None:
    with pytest.raises(SystemExit, match="--console-oidc-issuer"):
        from_argv(flags)
