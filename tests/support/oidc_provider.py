"""npm's `oidc-provider` on loopback for the web identity tests, and a scripted login.

The server is tests/support/oidc_provider.mjs run by Node with the package installed by
.ci/run (OIDC_PROVIDER_PREFIX=.venv/node/oidc):

    npm install --prefix .venv/node/oidc oidc-provider@9.13.3
    export KLOUDVAULT_OIDC_PROVIDER_PREFIX=.venv/node/oidc

`login(client, user)` runs the authorization code flow as a browser would (authorization
request with `login_hint`, the provider's interaction, which the script completes, the
redirect to the client with a code) and redeems the code at the token endpoint: the ID
token that comes back is the provider's own, signed with its RS256 or ES256 key (each
client says which with `id_token_signed_response_alg`).
"""

from __future__ import annotations

import base64
import http.client
import http.cookiejar
import json
import os
import secrets
import shutil
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.conftest import require_service
from tests.support.ports import free_port
from tests.support.services import ServiceProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
KNOWN_PREFIXES = (REPO_ROOT / ".venv" / "node" / "oidc", Path("/work/main/.venv/node/oidc"))
REDIRECT_URI = "http://127.0.0.1:9/cb"  # never fetched: the code is read off the redirect


def find_prefix() -> Path | None:
    explicit = os.environ.get("KLOUDVAULT_OIDC_PROVIDER_PREFIX")
    candidates = (Path(explicit),) if explicit else KNOWN_PREFIXES
    for prefix in candidates:
        if (prefix / "node_modules" / "oidc-provider" / "package.json").is_file():
            return prefix
    return None


class OidcProvider(ServiceProcess):
    name = "oidc-provider"

    def __init__(
        self,
        prefix: Path,
        clients: Sequence[dict[str, Any]],
        *,
        port: int | None = None,
        dev_interactions: bool = False,
    ) -> None:
        super().__init__()
        self.prefix = prefix
        self.port = port or free_port()
        self.issuer = issuer_on(self.port)
        self.clients = {c["client_id"]: c for c in clients}
        # oidc-provider's own login and consent pages (for a browser) instead of the
        # scripted login by login_hint.
        self.dev_interactions = dev_interactions

    def command(self) -> Sequence[str]:
        return [shutil.which("node") or "node", str(SCRIPT)]

    def environment(self) -> dict[str, str]:
        clients = [
            {**c, "redirect_uris": [REDIRECT_URI, *c.get("redirect_uris", ())]}
            for c in self.clients.values()
        ]
        return {
            **os.environ,
            "OIDC_DEV_INTERACTIONS": "1" if self.dev_interactions else "",
            "OIDC_PROVIDER_PREFIX": str(self.prefix),
            "OIDC_PORT": str(self.port),
            "OIDC_CLIENTS": json.dumps(clients),
        }

    def is_ready(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=0.5)
        try:
            conn.request("GET", "/.well-known/openid-configuration")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def authorize(self, url: str, redirect_uri: str) -> str:
        """Follow an authorization request (`url`, with a `login_hint`) through the
        scripted login to the redirect back to the client: that redirect's URL."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(_NoRedirect(), urllib.request.HTTPCookieProcessor(jar))
        for _ in range(10):
            with opener.open(url) as response:
                location = response.headers.get("location")
            if location is None:
                raise RuntimeError(f"no redirect from {url}")
            url = urllib.parse.urljoin(url, location)
            if url.startswith(redirect_uri):
                return url
        raise RuntimeError(f"the provider never redirected to {redirect_uri}")

    def login(self, client_id: str, user: str) -> str:
        """An ID token for `user`, issued to `client_id` by the authorization code flow."""
        query = urllib.parse.urlencode(
            {
                "client_id": client_id,
                "response_type": "code",
                "scope": "openid",
                "redirect_uri": REDIRECT_URI,
                "login_hint": user,
                "nonce": secrets.token_hex(8),
                "state": secrets.token_hex(8),
            }
        )
        url = self.authorize(f"{self.issuer}/auth?{query}", REDIRECT_URI)
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        if "code" not in params:
            raise RuntimeError(f"login refused: {params}")
        secret = self.clients[client_id]["client_secret"]
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        form = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": params["code"][0],
                "redirect_uri": REDIRECT_URI,
            }
        ).encode()
        request = urllib.request.Request(
            f"{self.issuer}/token",
            data=form,
            headers={
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        with urllib.request.urlopen(request) as response:
            return str(json.load(response)["id_token"])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand every redirect back (the flow is followed by hand, cookies and all)."""

    def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> Any:
        return fp

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def issuer_on(port: int) -> str:
    """The issuer URL of a provider on `port` (for a gateway set up before it starts)."""
    return f"http://127.0.0.1:{port}"


def start_oidc_provider(
    clients: Sequence[dict[str, Any]], *, port: int | None = None, dev_interactions: bool = False
) -> OidcProvider:
    prefix = find_prefix()
    if prefix is None or shutil.which("node") is None:
        require_service(
            "oidc-provider",
            "no oidc-provider npm package (npm install --prefix .venv/node/oidc oidc-provider;"
            " see tests/support/oidc_provider.py)",
        )
    server = OidcProvider(prefix, clients, port=port, dev_interactions=dev_interactions)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server
