"""What the engine sees of a request: who asks, for what, on what, with which keys. Pure.

Dispatch builds one PolicyContext per request (auth/policy/keys.py builds the condition
keys from the request's facts); the engine only reads it. The principal's own keys
(aws:username, aws:userid, aws:PrincipalType, ...) derive from the Requester, so they can
never disagree with who was authenticated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from functools import cached_property

from gateway.values import quick_init


class PrincipalType(Enum):
    """aws:PrincipalType values (the ones this gateway has)."""

    ACCOUNT = "Account"  # an account's own credentials (AWS: the root user)
    USER = "User"  # an IAM user inside an account
    ASSUMED_ROLE = "AssumedRole"  # an STS session of a role (auth/sts)
    ANONYMOUS = "Anonymous"


class GrantLevel(IntEnum):
    """How far a resource-side grant (bucket policy statement, ACL grant) reaches a requester.

    ACCOUNT: it names the requester's account, which for an IAM user is a delegation: the
    user still needs an Allow from its own identity policies. PRINCIPAL: it names this very
    principal, or everyone ("*", AllUsers, AuthenticatedUsers).
    """

    NONE = 0
    ACCOUNT = 1
    PRINCIPAL = 2


@quick_init
@dataclass(frozen=True)
class Requester:
    """The authenticated caller. Build with anonymous(), account() or user()."""

    account_id: str | None
    canonical_id: str | None = None
    user_name: str | None = None  # IAM user name; None for the account itself
    user_id: str | None = None  # IAM user's unique id (aws:userid)
    user_path: str = "/"
    # The service administrator acts as the owner of every account (today's root keeps
    # every right it had); explicit Deny statements still apply to it.
    is_admin: bool = False
    # An STS role session: the role's name, unique id (AROA...) and path, and the
    # session's name (arn:aws:sts::<id>:assumed-role/<role>/<session>).
    role_name: str | None = None
    role_id: str | None = None
    session_name: str | None = None

    @classmethod
    def anonymous(cls) -> Requester:
        return cls(account_id=None)

    @classmethod
    def account(cls, account_id: str, canonical_id: str, *, is_admin: bool = False) -> Requester:
        return cls(account_id=account_id, canonical_id=canonical_id, is_admin=is_admin)

    @classmethod
    def user(
        cls, account_id: str, canonical_id: str, name: str, user_id: str, path: str = "/"
    ) -> Requester:
        return cls(account_id, canonical_id, user_name=name, user_id=user_id, user_path=path)

    @classmethod
    def role_session(
        cls,
        account_id: str,
        canonical_id: str,
        role: str,
        role_id: str,
        session: str,
        path: str = "/",
    ) -> Requester:
        return cls(
            account_id,
            canonical_id,
            user_path=path,
            role_name=role,
            role_id=role_id,
            session_name=session,
        )

    @property
    def is_anonymous(self) -> bool:
        return self.account_id is None

    @property
    def is_iam(self) -> bool:
        """An IAM principal inside its account (a user or a role session): its identity
        policies decide, never the account's implicit rights."""
        return self.user_name is not None or self.role_name is not None

    @property
    def type(self) -> PrincipalType:
        if self.account_id is None:
            return PrincipalType.ANONYMOUS
        if self.role_name is not None:
            return PrincipalType.ASSUMED_ROLE
        return PrincipalType.USER if self.user_name is not None else PrincipalType.ACCOUNT

    @property
    def account_arn(self) -> str | None:
        return None if self.account_id is None else f"arn:aws:iam::{self.account_id}:root"

    @property
    def arn(self) -> str | None:
        """The caller's own ARN: the user's, the role session's (sts assumed-role), the
        account's root ARN, or None (anonymous)."""
        if self.role_name is not None:
            return (
                f"arn:aws:sts::{self.account_id}:assumed-role/{self.role_name}/{self.session_name}"
            )
        if self.user_name is not None:
            return f"arn:aws:iam::{self.account_id}:user{self.user_path}{self.user_name}"
        return self.account_arn

    @property
    def role_arn(self) -> str | None:
        if self.role_name is None:
            return None
        return f"arn:aws:iam::{self.account_id}:role{self.user_path}{self.role_name}"

    @property
    def principal_arns(self) -> tuple[str, ...]:
        """The ARNs a policy's Principal may name this caller by: a role session answers
        to its session ARN and to its role's ARN."""
        if self.role_name is not None:
            return (self.arn or "", self.role_arn or "")
        if self.user_name is not None:
            return (self.arn or "",)
        return ()

    def principal_keys(self) -> dict[str, tuple[str, ...]]:
        """The condition keys that describe the principal (lower-case names)."""
        keys: dict[str, tuple[str, ...]] = {"aws:principaltype": (self.type.value,)}
        if self.account_id is None:
            keys["aws:userid"] = ("anonymous",)
            return keys
        keys["aws:principalaccount"] = (self.account_id,)
        # A role session's aws:PrincipalArn is its role's ARN (IAM's documentation).
        keys["aws:principalarn"] = (self.role_arn or self.arn or "",)
        if self.role_name is not None:
            keys["aws:userid"] = (f"{self.role_id}:{self.session_name}",)
        elif self.user_name is not None:
            keys["aws:username"] = (self.user_name,)
            keys["aws:userid"] = (self.user_id or self.user_name,)
        else:
            keys["aws:userid"] = (self.account_id,)
        return keys


# The keys that describe the caller; a request can never set them.
PRINCIPAL_KEYS = frozenset(
    {"aws:principaltype", "aws:userid", "aws:username", "aws:principalaccount", "aws:principalarn"}
)


def normalize_key(key: str) -> str:
    """Condition key names are case-insensitive, tag keys after `/` included (IAM:
    "aws:ResourceTag/TagKey1" matches a tag key TagKey1 or tagkey1)."""
    return key.lower()


@quick_init
@dataclass(frozen=True)
class PolicyContext:
    """One authorization question: may `requester` do `action` on `resource`?

    `resource_account` is the account owning the resource (the bucket's owner; the
    object's owner for object actions when it differs; None for service-level actions
    such as ListAllMyBuckets). `keys` maps condition key names (any case) to their
    values; a key absent from it is absent from the request.
    """

    requester: Requester
    action: str
    resource: str
    resource_account: str | None = None
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @cached_property
    def _merged(self) -> dict[str, tuple[str, ...]]:
        # Built on the first condition asked about, not per question: most questions meet
        # no condition at all (an owner's own request, a bucket without a policy).
        merged = {normalize_key(k): tuple(v) for k, v in self.keys.items()}
        for name in PRINCIPAL_KEYS:
            merged.pop(name, None)  # only the authenticated requester speaks for itself
        merged.update(self.requester.principal_keys())
        # Normalized once: lookups are by lower-case name, and the principal's keys win.
        return merged

    def values(self, key: str) -> tuple[str, ...] | None:
        """The values of condition key `key`, or None when the request does not carry it."""
        return self._merged.get(normalize_key(key))

    def single(self, key: str) -> str | None:
        """The value of a single-valued key (for policy variables); None if absent or many."""
        values = self.values(key)
        return values[0] if values is not None and len(values) == 1 else None
