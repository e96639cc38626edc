"""The console's single sign-on (gateway/console/sso.py) against npm's oidc-provider on
loopback: the authorization code flow with PKCE driven by hand (the provider's scripted
login, tests/support/oidc_provider.py), ending in a console session holding the
credentials AssumeRoleWithWebIdentity minted for the console's role, which presigns with
X-Amz-Security-Token and is bound by the role's policy. Failures come back to the sign-in
page as a reason: a callback that is not this browser's sign-in, the provider's refusal,
a user the role's trust policy excludes."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import Message
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.config import Config

from auth.credentials import account_id
from gateway.console.sso_flow import CALLBACK_PATH, START_PATH
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.support.oidc_provider import OidcProvider, issuer_on, start_oidc_provider
from tests.support.ports import free_port

ROLE = "console-sso"
CLIENT_ID = "kv-console"
CLIENT_SECRET = "c" * 32
API = "/_kv/console"


@pytest.fixture(scope="module")
def provider_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(app_factory: AppFactory, provider_port: int) -> AppServer:
    return app_factory(
        console_oidc_issuer=issuer_on(provider_port),
        console_oidc_client_id=CLIENT_ID,
        console_oidc_client_secret=CLIENT_SECRET,
        console_oidc_role_arn=f"arn:aws:iam::{account_id('root')}:role/{ROLE}",
    )


@pytest.fixture(scope="module")
def provider(server: AppServer, provider_port: int) -> Iterator[OidcProvider]:
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [server.endpoint + CALLBACK_PATH],
    }
    started = start_oidc_provider([client], port=provider_port)
    yield started
    started.close()


def boto(server: AppServer, service: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
    ).client(
        service,
        endpoint_url=server.endpoint,
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


@pytest.fixture(scope="module")
def role(server: AppServer, provider: OidcProvider) -> Iterator[None]:
    """The console's role: alice may assume it; it may read sso-open, not write it."""
    iam = boto(server, "iam")
    arn = iam.create_open_id_connect_provider(Url=provider.issuer, ClientIDList=[CLIENT_ID])[
        "OpenIDConnectProviderArn"
    ]
    key = provider.issuer.removeprefix("http://")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {f"{key}:sub": "alice"}},
            }
        ],
    }
    iam.create_role(
        RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=7200
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::sso-open"},
        ],
    }
    iam.put_role_policy(RoleName=ROLE, PolicyName="read", PolicyDocument=json.dumps(policy))
    boto(server, "s3").create_bucket(Bucket="sso-open")
    yield
    iam.delete_role_policy(RoleName=ROLE, PolicyName="read")
    iam.delete_role(RoleName=ROLE)
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """Just enough of a browser: cookies by name (the test checks their paths itself),
    redirects handed back."""

    def __init__(self, server: AppServer) -> None:
        self.server = server
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(_NoRedirect())

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, **headers: str
    ) -> tuple[int, Message, bytes]:
        url = path if path.startswith("http") else self.server.endpoint + path
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req) as response:
                status, got, payload = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, got, payload = error.code, error.headers, error.read()
        for cookie in got.get_all("Set-Cookie") or ():
            name, _, value = cookie.split(";")[0].partition("=")
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return status, got, payload

    def sso(self, provider: OidcProvider, user: str) -> str:
        """Sign in through the provider as `user`: where the console sends the browser."""
        status, headers, _ = self.request("GET", START_PATH)
        assert status == 302
        authorize = headers["Location"] + "&" + urllib.parse.urlencode({"login_hint": user})
        callback = provider.authorize(authorize, self.server.endpoint + CALLBACK_PATH)
        status, headers, _ = self.request("GET", callback)
        assert status == 303
        return str(headers["Location"])


def test_sso_offered(server: AppServer) -> None:
    status, _, body = Browser(server).request("GET", f"{API}/sso")
    assert status == 200 and json.loads(body) == {"enabled": True}


def test_sso_start_sends_pkce_authorization_request(server: AppServer, provider: Any) -> None:
    browser = Browser(server)
    status, headers, _ = browser.request("GET", START_PATH)
    assert status == 302
    location = urllib.parse.urlsplit(headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == provider.issuer
    query = dict(urllib.parse.parse_qsl(location.query))
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["redirect_uri"] == server.endpoint + CALLBACK_PATH
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"] and query["scope"] == "openid"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/_kv/console/sso/" in cookie


def test_sso_sign_in_acts_as_the_role(server: AppServer, provider: Any, role: None) -> None:
    browser = Browser(server)
    assert browser.sso(provider, "alice") == "/console/"
    assert "kv_console_sso" not in browser.cookies  # the flow is over
    status, _, body = browser.request("GET", f"{API}/session")
    assert status == 200
    who = json.loads(body)
    assert who["role"] == ROLE and who["roleSession"] == "alice"
    assert who["accessKey"].startswith("ASIA") and who["iamUser"] is None
    sts = server.call(server.services.credentials.session(who["accessKey"]))
    # As long as the role allows (the console's own lifetime is 12 hours), and no longer.
    assert sts is not None and sts.expires - sts.created == 7200
    assert who["expires"] <= sts.expires
    csrf = {"X-KV-CSRF": who["csrfToken"]}

    def presigned(operation: str, **fields: Any) -> tuple[str, int]:
        status, _, body = browser.request(
            "POST", f"{API}/presign", {"operation": operation, **fields}, **csrf
        )
        assert status == 200, body
        answer = json.loads(body)
        url = answer["url"]
        assert "X-Amz-Security-Token=" in url
        req = urllib.request.Request(server.endpoint + url, method=answer["method"], data=b"x")
        if answer["method"] == "GET":
            req = urllib.request.Request(server.endpoint + url)
        try:
            with urllib.request.urlopen(req) as response:
                return response.read().decode(), response.status
        except urllib.error.HTTPError as error:
            return error.read().decode(), error.code

    listing, status = presigned("ListBuckets")
    assert status == 200 and "<Name>sso-open</Name>" in listing
    assert presigned("ListObjectsV2", bucket="sso-open")[1] == 200
    body_text, status = presigned("PutObject", bucket="sso-open", key="no")
    assert status == 403 and "AccessDenied" in body_text  # the role may not write
    status, _, _ = browser.request("DELETE", f"{API}/session", **csrf)
    assert status == 200
    assert browser.request("GET", f"{API}/session")[0] == 401


def test_sso_session_ends_with_the_credentials(
    server: AppServer, provider: Any, role: None
) -> None:
    browser = Browser(server)
    browser.sso(provider, "alice")
    status, _, body = browser.request("GET", f"{API}/session")
    assert status == 200
    who = json.loads(body)
    with server.clock.moved(who["expires"] - server.clock() + 1):
        status, _, body = browser.request("GET", f"{API}/session")
    assert status == 401 and b"ConsoleSignInRequired" in body


def test_sso_refusals_come_back_as_reasons(server: AppServer, provider: Any, role: None) -> None:
    # A user the role's trust policy excludes.
    assert Browser(server).sso(provider, "bob") == "/console/?sso_error=denied"
    # The provider refuses (an unknown user): its error, not a session.
    assert Browser(server).sso(provider, "mallory") == "/console/?sso_error=provider"
    # A callback this browser did not start: another browser's code and state.
    victim, attacker = Browser(server), Browser(server)
    status, headers, _ = attacker.request("GET", START_PATH)
    authorize = headers["Location"] + "&login_hint=alice"
    callback = provider.authorize(authorize, server.endpoint + CALLBACK_PATH)
    status, headers, _ = victim.request("GET", callback)
    assert status == 303 and headers["Location"] == "/console/?sso_error=state"
    assert "kv_console" not in victim.cookies
    # The same callback twice: the code is spent (and the flow cookie gone).
    status, headers, _ = attacker.request("GET", callback)
    assert headers["Location"] == "/console/"
    status, headers, _ = attacker.request("GET", callback)
    assert headers["Location"] == "/console/?sso_error=state"
