"""The single sign-on flow's pure parts (gateway/console/sso_flow.py): the flow cookie,
the values derived from it, the authorization request, the role session's name."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qsl, urlsplit

import pytest

from gateway.console import sso_flow
from gateway.console.sso_flow import Flow

NOW = 1_700_000_000.0


def test_flow_round_trips_through_its_cookie() -> None:
    flow = Flow.new(NOW)
    header = sso_flow.cookie_header(flow, secure=True)
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" in header
    assert f"Path={sso_flow.SSO_PREFIX}" in header and "Max-Age=600" in header
    value = header.split(";")[0].split("=", 1)[1]
    assert sso_flow.flow_from_cookie(f"other=1; {sso_flow.COOKIE}={value}") == flow
    cleared = sso_flow.cookie_header(None, secure=False)
    assert cleared.startswith(f"{sso_flow.COOKIE}=;") and "Max-Age=0" in cleared


@pytest.mark.parametrize(
    "cookie",
    [None, "", "kv_console_sso=", "kv_console_sso=12.short", "kv_console_sso=x." + "a" * 43],
)
def test_malformed_flow_cookie_is_no_flow(cookie: str | None) -> None:
    assert sso_flow.flow_from_cookie(cookie) is None


def test_derived_values_are_per_flow_and_pkce_s256() -> None:
    flow, other = Flow.new(NOW), Flow.new(NOW)
    assert len({flow.state, flow.nonce, flow.code_verifier}) == 3
    assert flow.state != other.state and flow.nonce != other.nonce
    assert Flow(flow.issued + 1, flow.secret).state != flow.state  # the time is bound in
    verifier = flow.code_verifier
    assert len(verifier) == 43 and verifier.replace("-", "").replace("_", "").isalnum()
    digest = hashlib.sha256(verifier.encode()).digest()
    assert flow.code_challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_flow_lives_ten_minutes() -> None:
    flow = Flow.new(NOW)
    assert flow.is_live(NOW) and flow.is_live(NOW + 599)
    assert not flow.is_live(NOW + 600) and not flow.is_live(NOW - 3600)


def test_authorization_url() -> None:
    flow = Flow.new(NOW)
    url = sso_flow.authorization_url(
        "https://idp.example/auth?tenant=a", client_id="c", redirect_uri="https://gw/cb", flow=flow
    )
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    assert parts.path == "/auth" and query["tenant"] == "a"
    assert query == {
        "tenant": "a",
        "response_type": "code",
        "client_id": "c",
        "redirect_uri": "https://gw/cb",
        "scope": "openid",
        "state": flow.state,
        "nonce": flow.nonce,
        "code_challenge": flow.code_challenge,
        "code_challenge_method": "S256",
    }


@pytest.mark.parametrize(
    ("claims", "name"),
    [
        ({"sub": "alice"}, "alice"),
        ({"sub": "x", "email": "a.b@example.com"}, "a.b@example.com"),
        ({"sub": "s", "preferred_username": "Jane Doe/ops"}, "Jane_Doe_ops"),
        ({"sub": "z"}, "z__"),
        ({"sub": "é" * 80}, "_" * 64),
        ({}, "sso"),
    ],
)
def test_session_name(claims: dict[str, object], name: str) -> None:
    assert sso_flow.session_name(claims) == name
