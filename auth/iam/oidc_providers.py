"""IAM OpenID Connect providers: Create/Get/List/DeleteOpenIDConnectProvider.

https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html:
Url (https://host[/path], the issuer of the provider's tokens), ClientIDList (the `aud`
values accepted), ThumbprintList (40 hex characters each; kept and shown, not used: the
JWKS is fetched over TLS verified by the system's CAs). The provider's ARN is
arn:aws:iam::<account id>:oidc-provider/<url without the scheme>.

Besides https, http is accepted for loopback issuers only (127.0.0.1, ::1, localhost):
a provider on the same host, as in tests, with nothing on the wire to protect.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from auth.iam.api import Call, Operation, Result
from auth.iam.errors import IamError, IamErrorCode
from auth.iam.render import Element
from auth.iam.shapes import iso
from gateway.meta.base import OidcProvider

MAX_CLIENT_IDS = 100
MAX_THUMBPRINTS = 5
_THUMBPRINT = re.compile(r"[0-9a-fA-F]{40}")
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def provider_key(url: str) -> str:
    """What a provider is stored and named by: its issuer URL without the scheme."""
    return url.split("://", 1)[1] if "://" in url else url


def issuer_url(key: str) -> str:
    """The issuer URL of a stored provider key (http for loopback hosts, else https)."""
    host = urlsplit(f"//{key}").hostname or ""
    return f"{'http' if host in _LOOPBACK else 'https'}://{key}"


def provider_arn(account_id: str, key: str) -> str:
    return f"arn:aws:iam::{account_id}:oidc-provider/{key}"


def check_url(url: str) -> str:
    """The provider key of a CreateOpenIDConnectProvider Url; ValidationError if bad."""
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK
    if (
        not 1 <= len(url) <= 255
        or (parts.scheme != "https" and not loopback)
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise IamError(IamErrorCode.VALIDATION_ERROR, f"Invalid Url {url[:255]}")
    return provider_key(url.rstrip("/"))


def _list(call: Call, name: str) -> list[str]:
    found = []
    index = 1
    while (item := call.params.get(f"{name}.member.{index}")) is not None:
        found.append(item)
        index += 1
    return found


def _arn_key(call: Call) -> str:
    value = call.params.required("OpenIDConnectProviderArn")
    prefix = f"arn:aws:iam::{call.account_id}:oidc-provider/"
    if not value.startswith(prefix) or len(value) <= len(prefix):
        raise IamError(IamErrorCode.INVALID_INPUT, f"ARN {value[:256]} is not valid.")
    return value[len(prefix) :]


async def _provider_arn(call: Call) -> str:
    if call.params.get("Url") is not None:
        return provider_arn(call.account_id, provider_key(call.params.required("Url")))
    return call.params.get("OpenIDConnectProviderArn") or ""


async def create_oidc_provider(call: Call) -> Result:
    key = check_url(call.params.required("Url"))
    client_ids = _list(call, "ClientIDList")
    thumbprints = _list(call, "ThumbprintList")
    if len(client_ids) > MAX_CLIENT_IDS or any(not 1 <= len(c) <= 255 for c in client_ids):
        raise IamError(IamErrorCode.VALIDATION_ERROR, "Invalid ClientIDList")
    if len(thumbprints) > MAX_THUMBPRINTS or not all(_THUMBPRINT.fullmatch(t) for t in thumbprints):
        raise IamError(IamErrorCode.VALIDATION_ERROR, "Invalid ThumbprintList")
    await call.meta.create_oidc_provider(
        OidcProvider(call.account, key, tuple(client_ids), tuple(thumbprints), call.now)
    )
    return [("OpenIDConnectProviderArn", provider_arn(call.account_id, key))]


async def _existing(call: Call) -> OidcProvider:
    key = _arn_key(call)
    provider = await call.meta.get_oidc_provider(call.account, key)
    if provider is None:
        raise IamError(
            IamErrorCode.NO_SUCH_ENTITY, f"OpenIDConnect Provider not found for arn {key}"
        )
    return provider


async def get_oidc_provider(call: Call) -> Result:
    provider = await _existing(call)
    client_ids: list[Element] = [("member", c) for c in provider.client_ids]
    thumbprints: list[Element] = [("member", t) for t in provider.thumbprints]
    return [
        ("Url", provider.url),
        ("ClientIDList", client_ids),
        ("ThumbprintList", thumbprints),
        ("CreateDate", iso(provider.created)),
    ]


async def list_oidc_providers(call: Call) -> Result:
    providers = await call.meta.list_oidc_providers(call.account)
    listed: list[Element] = [
        ("member", [("Arn", provider_arn(call.account_id, p.url))]) for p in providers
    ]
    return [("OpenIDConnectProviderList", listed)]


async def delete_oidc_provider(call: Call) -> Result:
    await call.meta.delete_oidc_provider(call.account, _arn_key(call))
    return None


OIDC_OPERATIONS = {
    "CreateOpenIDConnectProvider": Operation(create_oidc_provider, _provider_arn),
    "GetOpenIDConnectProvider": Operation(get_oidc_provider, _provider_arn),
    "DeleteOpenIDConnectProvider": Operation(delete_oidc_provider, _provider_arn),
}
