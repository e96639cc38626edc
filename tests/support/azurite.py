"""Azurite (the Azure Storage emulator, from npm) for tests of the `azure` backend.

Only the blob service runs: `azurite-blob` on a random free loopback port, with its data in
a temporary working directory, the well-known development account `devstoreaccount1`, and
`--skipApiVersionCheck` (azure-storage-blob may speak a newer API version than the
emulator knows). Start-up takes about 1.5 s, so a session starts one (`session_azurite()`)
and gives each test its own blob-name prefix or container.

Where the binary comes from: Azurite is not a Python package, so the test run installs it
with npm, as .ci/run does (AZURITE_PREFIX=.venv/node):

    npm install --prefix "$AZURITE_PREFIX" azurite@3.35.0
    export KLOUDVAULT_AZURITE_BIN="$AZURITE_PREFIX/node_modules/.bin/azurite-blob"

(3.35.0 is the newest release whose `engines` accepts Node 20; 3.36+ want Node 22 and
print EBADENGINE warnings on 20, though they run.) Without KLOUDVAULT_AZURITE_BIN the
binary is looked up on PATH, then under the prefixes in KNOWN_PREFIXES.
`python -m tests.support.azurite` runs one by hand and prints its connection string.

Quirk: Azurite keeps blob metadata in a LokiJS database that it saves every 5 s
(AUTOSAVE_INTERVAL), not on every write. A SIGKILL loses what was written since the last
save, so a crash test that expects earlier blobs to survive calls `wait_durable()` first.
"""

from __future__ import annotations

import http.client
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.support.ports import free_port
from tests.support.services import ServiceProcess, run_until_interrupted, session_service

REPO_ROOT = Path(__file__).resolve().parents[2]
KNOWN_PREFIXES = (
    REPO_ROOT / ".venv" / "node",  # where .ci/run installs it
    REPO_ROOT / ".cache" / "azurite",
    REPO_ROOT,
    Path.home() / ".cache" / "kloudvault" / "azurite",
    Path("/work/.npm-azurite"),
)

ACCOUNT_NAME = "devstoreaccount1"
# The published development key every Azurite and the Storage Emulator accept; not a secret.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AUTOSAVE_INTERVAL = 5.0


def find_azurite() -> str | None:
    explicit = os.environ.get("KLOUDVAULT_AZURITE_BIN")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    on_path = shutil.which("azurite-blob")
    if on_path:
        return on_path
    for prefix in KNOWN_PREFIXES:
        candidate = prefix / "node_modules" / ".bin" / "azurite-blob"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return None


class Azurite(ServiceProcess):
    """`azurite-blob` on a free loopback port, persisting to its working directory."""

    name = "azurite"
    account_name = ACCOUNT_NAME
    account_key = ACCOUNT_KEY

    def __init__(self, workdir: Path | None = None, *, binary: str | None = None) -> None:
        binary = binary or find_azurite()
        if binary is None:
            raise FileNotFoundError("azurite-blob not found: see tests/support/azurite.py")
        super().__init__(workdir)
        self.binary = binary
        self.port = free_port()
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(exist_ok=True)
        self.account_url = f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"
        self.connection_string = (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.account_url};"
        )

    def command(self) -> Sequence[str]:
        return [
            self.binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
            "--location",
            str(self.data_dir),
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--silent",
        ]

    def is_ready(self) -> bool:
        # Azurite loads its database before it listens, so any HTTP answer means ready
        # (an unsigned request gets 403, which is an answer).
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=0.5)
        try:
            conn.request("GET", f"/{ACCOUNT_NAME}?comp=list")
            conn.getresponse().read()
        except OSError:
            return False
        finally:
            conn.close()
        return True

    def wait_durable(self) -> None:
        """Return once every write acknowledged so far survives kill() (see AUTOSAVE_INTERVAL)."""
        time.sleep(AUTOSAVE_INTERVAL + 0.5)


def start_azurite(workdir: Path | None = None) -> Azurite:
    """A started Azurite, or skip/fail the test (tests/conftest.py) if there is none."""
    if find_azurite() is None:
        require_service(
            "Azurite",
            "no azurite-blob binary (npm install azurite, set KLOUDVAULT_AZURITE_BIN;"
            " see tests/support/azurite.py)",
        )
    server = Azurite(workdir)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server


def session_azurite(config: pytest.Config) -> Azurite:
    """The Azurite shared by this pytest run (tests that kill it start their own)."""
    return session_service(config, "azurite", start_azurite, Azurite)


if __name__ == "__main__":
    azurite = Azurite()
    run_until_interrupted(azurite, f"Azurite blob service\n{azurite.connection_string}")
