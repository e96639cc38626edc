"""AssumeRoleWithWebIdentity: an OpenID Connect ID token in, temporary credentials out.

https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html.
The call is unsigned (the token is the credential). In order:

1. the token's (unverified) `iss` names a provider registered in the role's account
   (IAM CreateOpenIDConnectProvider), else InvalidIdentityToken;
2. its signature verifies with the provider's JWKS (auth/sts/oidc_keys.py; RS256 or
   ES256 only; an unknown `kid` refetches the JWKS once), else InvalidIdentityToken;
3. its claims (`check_claims`, pure): `iss` is the provider's URL, `aud` one of its client
   ids, `exp` in the future (else ExpiredTokenException), `nbf` and `iat` not in it;
4. the role's trust policy names the provider as `Federated` principal and its
   conditions hold on the claims, as `<issuer>:sub`, `<issuer>:aud` (the `azp` when the
   token has one, as IAM does), `<issuer>:amr`... keys (`claim_keys`), else AccessDenied.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from auth.iam.api import Call, Result
from auth.iam.errors import IamError, IamErrorCode
from auth.iam.oidc_providers import issuer_url, provider_arn, provider_key
from auth.policy.model import MalformedPolicy, PolicyKind, parse_policy
from auth.sts.oidc_keys import OidcKeys
from auth.sts.session import (
    DEFAULT_ROLE_DURATION,
    account_named_by,
    duration,
    mint,
    role_ref,
    session_name,
    session_policy,
)
from auth.sts.trust import web_identity_may_assume

ALGORITHMS = ("RS256", "ES256")
LEEWAY = 60  # seconds of clock skew tolerated on nbf and iat
MAX_TOKEN_CHARS = 20000
_FALLBACK_KEYS = OidcKeys()


def _invalid(message: str) -> IamError:
    return IamError(IamErrorCode.INVALID_IDENTITY_TOKEN, message)


def unverified_issuer(token: str) -> str:
    """The `iss` of a compact JWS, read before its signature is checked (it says whose
    keys check it); InvalidIdentityToken if the token is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        raise _invalid("The ID Token provided is not a valid JWT.")
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError) as exc:
        raise _invalid("The ID Token provided is not a valid JWT.") from exc
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(issuer, str) or not issuer:
        raise _invalid("The ID Token provided has no issuer.")
    return issuer


def _audiences(claims: Mapping[str, Any]) -> tuple[str, ...]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        return tuple(aud)
    return ()


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(f"The ID Token's {name} claim is not a number.")
    return float(value)


def check_claims(
    claims: Mapping[str, Any], issuer: str, client_ids: Sequence[str], now: float
) -> None:
    """Raise as STS does unless the verified token's claims hold at `now`. Pure."""
    if claims.get("iss") != issuer:
        raise _invalid("Issuer in the ID Token does not match the provider.")
    if not set(_audiences(claims)) & set(client_ids):
        raise _invalid("Incorrect token audience.")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise _invalid("The ID Token has no subject.")
    expires = _number(claims, "exp")
    if expires is None:
        raise _invalid("The ID Token has no expiry.")
    if expires <= now:
        raise IamError(IamErrorCode.EXPIRED_TOKEN_EXCEPTION, "Token expired: current date/time "
                       "must be before the expiration date/time.")  # fmt: skip
    not_before = _number(claims, "nbf")
    if not_before is not None and not_before > now + LEEWAY:
        raise _invalid("The ID Token is not valid yet (nbf).")
    issued = _number(claims, "iat")
    if issued is None or issued > now + LEEWAY:
        raise _invalid("The ID Token's issue time (iat) is missing or in the future.")


def claim_keys(key: str, claims: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The condition keys a trust policy may test: `<provider key>:<claim>` for every
    string (or list of strings) claim; `<key>:aud` is the `azp` when present (IAM's rule
    for tokens with several audiences)."""
    keys: dict[str, tuple[str, ...]] = {}
    for name, value in claims.items():
        if isinstance(value, str):
            keys[f"{key}:{name}"] = (value,)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            keys[f"{key}:{name}"] = tuple(value)
    azp = claims.get("azp")
    if isinstance(azp, str):
        keys[f"{key}:aud"] = (azp,)
    return keys


async def verify_token(keys: OidcKeys, token: str, issuer: str) -> dict[str, Any]:
    """The token's claims once its signature verifies with the issuer's keys."""
    key_set = await keys.key_set(issuer)
    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    except (ValueError, TypeError) as exc:
        raise _invalid("The ID Token provided is not a valid JWT.") from exc
    kid = header.get("kid") if isinstance(header, dict) else None
    if isinstance(kid, str) and not _has_kid(key_set, kid):
        key_set = await keys.key_set(issuer, refresh=True)  # keys rotated since cached
    try:
        decoded = jwt.decode(token, key_set, algorithms=list(ALGORITHMS))
    except BadSignatureError as exc:
        raise _invalid("The ID Token's signature does not verify.") from exc
    except JoseError as exc:
        raise _invalid(f"The ID Token could not be verified ({exc.error}).") from exc
    return dict(decoded.claims)


def _has_kid(key_set: KeySet, kid: str) -> bool:
    return any(k.kid == kid for k in key_set.keys)


async def assume_role_with_web_identity(call: Call) -> Result:
    ref = role_ref(call.params)
    name = session_name(call.params)
    policy = session_policy(call.params)
    token = call.params.required("WebIdentityToken")
    if not 4 <= len(token) <= MAX_TOKEN_CHARS:
        raise _invalid("The ID Token provided is not a valid JWT.")
    issuer = unverified_issuer(token)
    key = provider_key(issuer)
    account = await account_named_by(call.meta, ref.account_id)
    provider = None if account is None else await call.meta.get_oidc_provider(account, key)
    if account is None or provider is None or issuer_url(key) != issuer:
        raise _invalid(f"No OpenIDConnect provider found in your account for {issuer}")
    keys = call.services.web_identity if call.services is not None else _FALLBACK_KEYS
    claims = await verify_token(keys, token, issuer)
    check_claims(claims, issuer, provider.client_ids, call.now)
    role_arn = f"arn:aws:iam::{ref.account_id}:role{ref.path}{ref.name}"
    role = await call.meta.get_iam_role(account, ref.name)
    denied = IamError(
        IamErrorCode.ACCESS_DENIED, "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    )
    if role is None or role.path != ref.path:
        raise denied
    try:
        trust = parse_policy(role.trust_policy, PolicyKind.TRUST, max_chars=1 << 30)
    except MalformedPolicy:
        raise denied from None
    federated = provider_arn(ref.account_id, key)
    if not web_identity_may_assume(
        trust, role_arn, ref.account_id, federated, claim_keys(key, claims)
    ):
        raise denied
    seconds = duration(
        call.params,
        default=DEFAULT_ROLE_DURATION,
        maximum=role.max_session_duration,
        role_bound=True,
    )
    subject = str(claims["sub"])
    credentials = await mint(
        call.meta,
        sealer=call.sealer,
        account=account,
        role=role.name,
        iam_user=None,
        name=name,
        policy=policy,
        source=f"{issuer}#{subject}",
        now=call.now,
        seconds=seconds,
    )
    audience = claims.get("azp") if isinstance(claims.get("azp"), str) else _audiences(claims)[0]
    return [
        ("Credentials", credentials),
        ("SubjectFromWebIdentityToken", subject),
        (
            "AssumedRoleUser",
            [
                ("AssumedRoleId", f"{role.role_id}:{name}"),
                ("Arn", f"arn:aws:sts::{ref.account_id}:assumed-role/{role.name}/{name}"),
            ],
        ),
        ("Provider", federated),
        ("Audience", str(audience)),
    ]
