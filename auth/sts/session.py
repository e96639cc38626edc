"""Temporary credentials: the parameters that shape a session, and minting one.

https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html: RoleArn,
RoleSessionName (2-64 of `[\\w+=,.@-]`), DurationSeconds (900 up to the role's
MaxSessionDuration, default 3600), Policy (a session policy, at most 2048 characters;
larger is PackedPolicyTooLarge). GetSessionToken's DurationSeconds: 900-129600, default
43200 (an account's own credentials: at most 3600).

A session is a row (gateway/meta/roles.py) keyed by its ASIA access key; the secret is
stored (SigV4 needs it), the session token only as its SHA-256.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from auth.credentials import (
    account_id,
    new_secret_key,
    new_session_access_key,
    new_session_token,
    token_digest,
)
from auth.iam.errors import IamError, IamErrorCode
from auth.iam.form import Params
from auth.iam.render import Element
from auth.iam.shapes import iso
from auth.policy.model import MalformedPolicy, PolicyKind, PolicyTooLarge, parse_policy
from auth.sealed import SecretSealer
from gateway.meta.base import MetaStore, StsSession

MIN_DURATION = 900
DEFAULT_ROLE_DURATION = 3600
MAX_SESSION_POLICY_CHARS = 2048
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role(/(?:[\x21-\x7e]*/)?)([\w+=,.@-]{1,64})")


@dataclass(frozen=True)
class RoleRef:
    account_id: str
    path: str
    name: str


def _invalid(name: str, value: str, constraint: str) -> IamError:
    return IamError(
        IamErrorCode.VALIDATION_ERROR,
        f"1 validation error detected: Value '{value[:128]}' at '{name}' failed to satisfy "
        f"constraint: {constraint}",
    )


def role_ref(params: Params) -> RoleRef:
    value = params.required("RoleArn")
    found = _ROLE_ARN.fullmatch(value)
    if found is None:
        raise _invalid("roleArn", value, "Member must be a valid role ARN")
    return RoleRef(found.group(1), found.group(2), found.group(3))


def session_name(params: Params) -> str:
    value = params.required("RoleSessionName")
    if not _SESSION_NAME.fullmatch(value):
        raise _invalid(
            "roleSessionName",
            value,
            r"Member must satisfy regular expression pattern: [\w+=,.@-]* and have length "
            "between 2 and 64",
        )
    return value


def duration(params: Params, *, default: int, maximum: int, role_bound: bool) -> int:
    value = params.get("DurationSeconds")
    if value is None:
        return min(default, maximum)
    seconds = int(value) if value.isascii() and value.isdigit() and len(value) <= 7 else -1
    if seconds < MIN_DURATION or (seconds > maximum and not role_bound):
        raise _invalid(
            "durationSeconds",
            value,
            f"Member must have value between {MIN_DURATION} and {maximum}",
        )
    if seconds > maximum:
        raise IamError(
            IamErrorCode.VALIDATION_ERROR,
            f"The requested DurationSeconds exceeds the MaxSessionDuration set for this "
            f"role ({maximum}).",
        )
    return seconds


def session_policy(params: Params) -> str | None:
    document = params.get("Policy")
    if document is None:
        return None
    try:
        parse_policy(document, PolicyKind.IDENTITY, max_chars=MAX_SESSION_POLICY_CHARS)
    except PolicyTooLarge as exc:
        raise IamError(IamErrorCode.PACKED_POLICY_TOO_LARGE) from exc
    except MalformedPolicy as exc:
        raise IamError(IamErrorCode.MALFORMED_POLICY_DOCUMENT, exc.reason) from exc
    return document


async def account_named_by(meta: MetaStore, wanted_id: str) -> str | None:
    """The account whose 12-digit id is `wanted_id` (ids derive from names one way)."""
    for user in await meta.list_users():
        if account_id(user.name) == wanted_id:
            return user.name
    return None


async def mint(
    meta: MetaStore,
    *,
    sealer: SecretSealer,
    account: str,
    role: str | None,
    iam_user: str | None,
    name: str | None,
    policy: str | None,
    source: str,
    now: float,
    seconds: int,
) -> list[Element]:
    """Store a new session and return its Credentials element."""
    token = new_session_token()
    session = StsSession(
        access_key=new_session_access_key(),
        secret_key=new_secret_key(),
        token_sha256=token_digest(token),
        account=account,
        role=role,
        iam_user=iam_user,
        session_name=name,
        session_policy=policy,
        source=source,
        created=now,
        expires=now + seconds,
    )
    await meta.create_sts_session(
        replace(session, secret_key=sealer.seal(session.access_key, session.secret_key))
    )
    return [
        ("AccessKeyId", session.access_key),
        ("SecretAccessKey", session.secret_key),
        ("SessionToken", token),
        ("Expiration", iso(session.expires)),
    ]
