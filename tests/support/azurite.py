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

Entra ID (OAuth): `Azurite(tls=..., oauth=True)` serves https with the given certificate
(tests/support/tls.py) and `--oauth basic`, under which it accepts a bearer token that is
a JWT with `iat`/`nbf`/`exp` around now, `iss` starting with https://sts.windows.net/ and
`aud` https://storage.azure.com, without checking its signature
(dist/src/blob/authentication/BlobTokenAuthenticator.js); it accepts the account key too.
With oauth and no `tls`, it makes a test CA and certificate of its own in its working
directory (`.tls.ca_bundle` for the clients to trust, `.ssl_context()`). `entra_token()`
makes such a JWT; `session_oauth_azurite()` is the session's one such server.
`IdentityEndpoint` hands such tokens out as an App Service managed identity endpoint does,
for azure-identity's ManagedIdentityCredential (and DefaultAzureCredential, which reaches
it when IDENTITY_ENDPOINT and IDENTITY_HEADER are set).

Quirk: Azurite keeps blob metadata in a LokiJS database that it saves every 5 s
(AUTOSAVE_INTERVAL), not on every write. A SIGKILL loses what was written since the last
save, so a crash test that expects earlier blobs to survive calls `wait_durable()` first.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import secrets
import shutil
import ssl
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import require_service
from tests.support.ports import free_port
from tests.support.services import ServiceProcess, run_until_interrupted, session_service
from tests.support.tls import TLSFiles, make_test_tls

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
# What Azurite's --oauth basic checks in a bearer token (BlobTokenAuthenticator.js).
TOKEN_AUDIENCE = "https://storage.azure.com"
TOKEN_ISSUER = "https://sts.windows.net/72f988bf-0000-0000-0000-2d7cd011db47/"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def entra_token(*, lifetime: float = 3600.0, now: float | None = None, **claims: object) -> str:
    """A well-formed, unsigned-for-real JWT that Azurite's --oauth basic takes for an Entra
    ID access token valid from a minute ago for `lifetime` seconds (negative: expired);
    `claims` add to or override the usual ones (aud, iss, iat, nbf, exp, oid, tid)."""
    issued = int(time.time() if now is None else now) - 60
    payload: dict[str, object] = {
        "aud": TOKEN_AUDIENCE,
        "iss": TOKEN_ISSUER,
        "iat": issued,
        "nbf": issued,
        "exp": int(issued + 60 + lifetime),
        "oid": str(uuid.uuid4()),
        "tid": TOKEN_ISSUER.rstrip("/").rsplit("/", 1)[-1],
        **claims,
    }
    header = {"alg": "RS256", "typ": "JWT"}
    parts = [json.dumps(part, separators=(",", ":")).encode() for part in (header, payload)]
    return ".".join([*(_b64url(part) for part in parts), _b64url(b"not a real signature")])


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


@dataclass(frozen=True)
class TokenRequest:
    """One request an IdentityEndpoint answered: its path, query and identity header."""

    path: str
    query: dict[str, list[str]]
    identity_header: str | None


class IdentityEndpoint:
    """An App Service style managed identity endpoint on a loopback port, in a thread.

    azure-identity (1.27, _credentials/app_service.py) GETs
    `IDENTITY_ENDPOINT?api-version=2019-08-01&resource=https://storage.azure.com` with the
    header `X-IDENTITY-HEADER: <IDENTITY_HEADER>` and reads the JSON answer's access_token,
    expires_on (Unix seconds), resource and token_type. This one answers with an
    entra_token() valid for `lifetime` seconds when the header is right (400 otherwise,
    as App Service answers), and records every request in `requests`.
    """

    def __init__(self, *, lifetime: float = 3600.0) -> None:
        self.secret = secrets.token_hex(16)
        self.lifetime = lifetime
        self.requests: list[TokenRequest] = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                header = self.headers.get("X-IDENTITY-HEADER")
                endpoint.requests.append(TokenRequest(url.path, parse_qs(url.query), header))
                if header != endpoint.secret:
                    self._answer(400, {"error": "invalid_request"})
                    return
                resource = parse_qs(url.query).get("resource", [""])[0]
                expires_on = int(time.time() + endpoint.lifetime)
                token = entra_token(lifetime=endpoint.lifetime)
                self._answer(
                    200,
                    {
                        "access_token": token,
                        "expires_on": str(expires_on),
                        "resource": resource,
                        "token_type": "Bearer",
                        "client_id": str(uuid.uuid4()),
                    },
                )

            def _answer(self, status: int, body: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/msi/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def environment(self) -> dict[str, str]:
        """What a process's environment says on App Service: where to ask, and the secret."""
        return {"IDENTITY_ENDPOINT": self.url, "IDENTITY_HEADER": self.secret}

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class Azurite(ServiceProcess):
    """`azurite-blob` on a free loopback port, persisting to its working directory."""

    name = "azurite"
    account_name = ACCOUNT_NAME
    account_key = ACCOUNT_KEY

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        binary: str | None = None,
        tls: TLSFiles | None = None,
        oauth: bool = False,
    ) -> None:
        binary = binary or find_azurite()
        if binary is None:
            raise FileNotFoundError("azurite-blob not found: see tests/support/azurite.py")
        super().__init__(workdir)
        if oauth and tls is None:  # Azurite takes bearer tokens over https only
            tls = make_test_tls(self.workdir / "tls")
        self.binary = binary
        self.tls = tls
        self.oauth = oauth
        self.port = free_port()
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(exist_ok=True)
        scheme = "https" if tls else "http"
        self.account_url = f"{scheme}://127.0.0.1:{self.port}/{ACCOUNT_NAME}"
        self.connection_string = (
            f"DefaultEndpointsProtocol={scheme};"
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
            *(["--cert", str(self.tls.cert), "--key", str(self.tls.key)] if self.tls else []),
            *(["--oauth", "basic"] if self.oauth else []),
        ]

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying client context trusting the server's test CA (None over http)."""
        if self.tls is None:
            return None
        return ssl.create_default_context(cafile=str(self.tls.ca_bundle))

    def is_ready(self) -> bool:
        # Azurite loads its database before it listens, so any HTTP answer means ready
        # (an unsigned request gets 403, which is an answer).
        conn: http.client.HTTPConnection
        if self.tls is not None:
            conn = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=0.5, context=self.ssl_context()
            )
        else:
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


def start_azurite(
    workdir: Path | None = None, *, tls: TLSFiles | None = None, oauth: bool = False
) -> Azurite:
    """A started Azurite, or skip/fail the test (tests/conftest.py) if there is none."""
    if find_azurite() is None:
        require_service(
            "Azurite",
            "no azurite-blob binary (npm install azurite, set KLOUDVAULT_AZURITE_BIN;"
            " see tests/support/azurite.py)",
        )
    server = Azurite(workdir, tls=tls, oauth=oauth)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server


def session_azurite(config: pytest.Config) -> Azurite:
    """The Azurite shared by this pytest run (tests that kill it start their own)."""
    return session_service(config, "azurite", start_azurite, Azurite)


def start_oauth_azurite() -> Azurite:
    """A started Azurite over https (a test CA of its own) taking bearer tokens."""
    return start_azurite(oauth=True)


def session_oauth_azurite(config: pytest.Config) -> Azurite:
    """The https, --oauth basic Azurite shared by this pytest run."""
    return session_service(config, "azurite-oauth", start_oauth_azurite, Azurite)


if __name__ == "__main__":
    azurite = Azurite()
    run_until_interrupted(azurite, f"Azurite blob service\n{azurite.connection_string}")
