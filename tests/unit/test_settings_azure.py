"""--backend azure's credentials in Settings: a connection string, or an account URL with a
key, a SAS in its query, or nothing (Entra ID, https only); and what make_backend builds."""

from __future__ import annotations

import pytest

from gateway.app import make_backend
from gateway.settings import from_argv

URL = "https://acct.blob.core.windows.net"
AZURE = ["--backend", "azure"]


@pytest.mark.parametrize(
    "flags",
    [
        ["--azure-connection-string", "AccountName=a;AccountKey=a2V5;BlobEndpoint=http://x/a"],
        ["--azure-account-url", URL, "--azure-account-key", "a2V5"],
        ["--azure-account-url", "http://127.0.0.1:10000/acct", "--azure-account-key", "a2V5"],
        ["--azure-account-url", f"{URL}?sv=2025-01-05&sig=x"],
        ["--azure-account-url", f"{URL}/"],  # Entra ID
    ],
)
def test_azure_credentials_accepted(flags: list[str]) -> None:
    make_backend(from_argv([*AZURE, *flags]))


def test_an_account_url_alone_is_entra_id() -> None:
    backend = make_backend(from_argv([*AZURE, "--azure-account-url", URL]))
    assert backend._entra_id  # type: ignore[attr-defined]
    keyed = make_backend(
        from_argv([*AZURE, "--azure-account-url", URL, "--azure-account-key", "a2V5"])
    )
    assert not keyed._entra_id  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("flags", "problem"),
    [
        ([], "needs --azure-connection-string or --azure-account-url"),
        (
            ["--azure-connection-string", "x", "--azure-account-url", URL],
            "needs --azure-connection-string or --azure-account-url",
        ),
        (["--azure-account-url", "http://127.0.0.1:10000/acct"], "must be https"),
    ],
)
def test_azure_credentials_refused(flags: list[str], problem: str) -> None:
    with pytest.raises(SystemExit, match=problem):
        from_argv([*AZURE, *flags])
