"""The console's single sign-on in Debian's Chromium: "Sign in with SSO", oidc-provider's
own login and consent pages (npm's oidc-provider with its development interactions,
tests/support/oidc_provider.py), back in the console as the assumed role, whose policy
lets it list and upload to one bucket and only list another; sign out. A user the role's
trust policy excludes comes back to the sign-in page with the reason in words."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest

from auth.credentials import account_id
from gateway.console.sso_flow import CALLBACK_PATH
from tests.app.server import AppServer, MovableClock
from tests.browser.console_support import chromium
from tests.support.clients import boto3_client
from tests.support.oidc_provider import OidcProvider, issuer_on, start_oidc_provider
from tests.support.ports import free_port

__all__ = ["chromium"]  # a fixture, imported for pytest

ROLE = "console-sso"
CLIENT_ID = "kv-console"
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppServer, Any]]:
    """The gateway (in-process, as the console's other browser test) and the provider
    with its login pages, the console's role set up in root's account."""
    port = free_port()
    server = AppServer(
        tmp_path_factory.mktemp("console-sso"),
        clock=MovableClock(),
        console_oidc_issuer=issuer_on(port),
        console_oidc_client_id=CLIENT_ID,
        console_oidc_role_arn=f"arn:aws:iam::{account_id('root')}:role/{ROLE}",
    ).start()
    client = {
        "client_id": CLIENT_ID,
        "token_endpoint_auth_method": "none",  # a public client: PKCE binds the code
        "redirect_uris": [server.endpoint + CALLBACK_PATH],
    }
    provider = start_oidc_provider([client], port=port, dev_interactions=True)
    try:
        _set_up_role(server, provider)
        yield server, provider
    finally:
        provider.close()
        server.stop()


def _set_up_role(server: AppServer, provider: OidcProvider) -> None:
    iam = boto3.session.Session(
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name=server.region,
    ).client("iam", endpoint_url=server.endpoint)
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
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": ["arn:aws:s3:::sso-rw", "arn:aws:s3:::sso-ro"],
            },
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::sso-rw/*"},
        ],
    }
    iam.put_role_policy(RoleName=ROLE, PolicyName="console", PolicyDocument=json.dumps(policy))
    s3 = boto3_client(server)
    s3.create_bucket(Bucket="sso-rw")
    s3.create_bucket(Bucket="sso-ro")


def _new_page(chromium: Any) -> tuple[Any, Any]:
    context = chromium.new_context()
    # The provider's pages import a web font: no network here, and none needed.
    context.route("https://fonts.googleapis.com/**", lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return context, page


def _sso_sign_in(page: Any, server: AppServer, user: str) -> None:
    page.goto(f"{server.endpoint}/console/")
    page.get_by_role("link", name="Sign in with SSO").click()
    # oidc-provider's development login page, then its consent page.
    page.locator("input[name=login]").fill(user)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def _upload(page: Any, folder: Path, name: str, data: bytes) -> None:
    path = folder / name
    path.write_bytes(data)
    if page.locator(".uppy-Dashboard-input").count() == 0:
        page.locator(".uppy-DashboardContent-addMore").click()
    page.locator(".uppy-Dashboard-input").first.set_input_files(path)


def test_console_sso_sign_in_as_role(
    sso_server: tuple[AppServer, Any], chromium: Any, tmp_path: Path
) -> None:
    server, _ = sso_server
    context, page = _new_page(chromium)
    _sso_sign_in(page, server, "alice")
    page.wait_for_selector("#app-view", state="visible")
    who = page.locator("#who").inner_text()
    assert f"alice with role {ROLE}" in who and "key ASIA" in who
    page.get_by_role("link", name="sso-ro").wait_for()  # ListBuckets allowed

    page.goto(f"{server.endpoint}/console/#/b/sso-rw/")
    page.wait_for_selector("#objects-view", state="visible")
    _upload(page, tmp_path, "ok.txt", b"from the role")
    page.locator("#upload-status", has_text="Upload complete: ok.txt").wait_for()
    s3 = boto3_client(server)
    assert s3.get_object(Bucket="sso-rw", Key="ok.txt")["Body"].read() == b"from the role"

    page.goto(f"{server.endpoint}/console/#/b/sso-ro/")
    page.wait_for_selector("#objects-view", state="visible")
    _upload(page, tmp_path, "nope.txt", b"not allowed")
    page.wait_for_selector("#message:has-text('Upload of nope.txt refused')")
    assert "Access Denied" in page.locator("#message").inner_text()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#sign-in-view", state="visible")
    page.get_by_role("link", name="Sign in with SSO").wait_for()
    assert not [c for c in context.cookies() if c["name"] == "kv_console"]
    context.close()

    # A new browser (no session at the provider): the role's trust policy names alice only.
    context, page = _new_page(chromium)
    _sso_sign_in(page, server, "bob")
    page.wait_for_selector("#sign-in-view", state="visible")
    page.locator("#message", has_text="not allowed to assume the console's role").wait_for()
    assert "sso_error" not in page.url
    context.close()
