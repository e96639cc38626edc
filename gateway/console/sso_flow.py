"""Single sign-on's pure parts: the flow cookie, its state, nonce and PKCE verifier.

https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth and RFC 7636 (PKCE).
Between "Sign in with SSO" and the provider's redirect back, the gateway must remember a
`state` (the callback answers this browser's sign-in, not one an attacker started), a
`nonce` (the ID token was issued for this sign-in) and the PKCE `code_verifier` (only
who started the flow can redeem the code). It keeps none of them: the browser holds one
random secret in a short-lived HttpOnly cookie (`<issued>.<secret>`), and all three are
derived from it by HMAC. Nothing to store or share between replicas, no server key; a
cookie forged by an attacker derives values that match only the attacker's own flow.

The cookie is SameSite=Lax, not Strict like the session's: the provider's redirect back
is a cross-site top-level navigation, which Strict cookies do not follow.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from gateway.console.paths import API_PREFIX

COOKIE = "kv_console_sso"
SSO_PREFIX = API_PREFIX + "/sso/"
START_PATH = SSO_PREFIX + "start"
CALLBACK_PATH = SSO_PREFIX + "callback"
FLOW_SECONDS = 600  # time to log in at the provider
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
_NOT_IN_SESSION_NAME = re.compile(r"[^\w+=,.@-]", re.ASCII)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Flow:
    """One sign-in in progress: when it started and the browser's secret."""

    issued: int
    secret: str

    @classmethod
    def new(cls, now: float) -> Flow:
        return cls(int(now), secrets.token_urlsafe(32))

    def _derive(self, purpose: str) -> bytes:
        message = f"kloudvault console sso {purpose} {self.issued}".encode()
        return hmac.new(self.secret.encode("ascii"), message, hashlib.sha256).digest()

    @property
    def state(self) -> str:
        return _b64(self._derive("state"))

    @property
    def nonce(self) -> str:
        return _b64(self._derive("nonce"))

    @property
    def code_verifier(self) -> str:
        """43 characters of [A-Za-z0-9_-]: RFC 7636 section 4.1's minimum."""
        return _b64(self._derive("pkce"))

    @property
    def code_challenge(self) -> str:
        """S256: BASE64URL(SHA256(verifier)), RFC 7636 section 4.2."""
        return _b64(hashlib.sha256(self.code_verifier.encode("ascii")).digest())

    def cookie_value(self) -> str:
        return f"{self.issued}.{self.secret}"

    def is_live(self, now: float) -> bool:
        return self.issued <= now + 60 and now < self.issued + FLOW_SECONDS


def flow_from_cookie(cookie_header: str | None) -> Flow | None:
    """The flow a Cookie header carries, if it carries one of the right shape."""
    for part in (cookie_header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name != COOKIE:
            continue
        issued, _, secret = value.partition(".")
        if (
            issued.isascii()
            and issued.isdigit()
            and len(issued) <= 12
            and _SECRET.fullmatch(secret)
        ):
            return Flow(int(issued), secret)
    return None


def cookie_header(flow: Flow | None, *, secure: bool) -> str:
    """Set-Cookie for the flow; None clears it."""
    value, age = ("", 0) if flow is None else (flow.cookie_value(), FLOW_SECONDS)
    attributes = [f"{COOKIE}={value}", f"Path={SSO_PREFIX}", f"Max-Age={age}", "HttpOnly"]
    attributes.append("SameSite=Lax")
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)


def authorization_url(endpoint: str, *, client_id: str, redirect_uri: str, flow: Flow) -> str:
    """The authorization request (OpenID Connect Core 3.1.2.1) with PKCE S256."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid",
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": flow.code_challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def session_name(claims: dict[str, object]) -> str:
    """A RoleSessionName ([\\w+=,.@-]{2,64}) naming the user: their preferred username,
    email or subject, other characters replaced."""
    for claim in ("preferred_username", "email", "sub"):
        value = claims.get(claim)
        if isinstance(value, str) and value:
            name = _NOT_IN_SESSION_NAME.sub("_", value)[:64]
            return name if len(name) >= 2 else f"{name}__"
    return "sso"


# The reasons a sign-in fails, as the sign-in page names them (?sso_error=...): fixed
# words, so no text from the provider or the URL reaches the page.
REASONS = frozenset({"disabled", "state", "provider", "token", "denied", "unreachable"})
