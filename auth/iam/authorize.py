"""Who may call the IAM API, and on what. Pure.

An account's own keys (and the service's root, which acts in its own account `root`)
manage every IAM entity of their account. An IAM user may call an action only when its
identity policies allow `iam:<Action>` on the entity's ARN (auth/policy/engine.py decides;
an explicit Deny wins). Nobody reaches into another account: every operation acts in the
caller's account. Anonymous callers never get this far (AccessDenied at the door).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auth.credentials import SESSION_KEY_PREFIX, account_id, canonical_id
from auth.iam.errors import IamError, IamErrorCode
from auth.policy.context import PolicyContext, Requester
from auth.policy.engine import NamedPolicy, Policies, Verdict, evaluate
from auth.policy.model import MalformedPolicy, PolicyKind, parse_policy
from gateway.meta.base import IamIdentity


@dataclass(frozen=True)
class Caller:
    """The authenticated caller: an account's own key (identity None) or an IAM user's."""

    account: str  # users.name
    identity: IamIdentity | None = None
    is_root: bool = False
    access_key: str | None = None  # the key that signed the call

    @property
    def temporary(self) -> bool:
        """Signed with STS temporary credentials."""
        return self.access_key is not None and self.access_key.startswith(SESSION_KEY_PREFIX)

    @property
    def account_id(self) -> str:
        return account_id(self.account)

    @property
    def user_name(self) -> str | None:
        return None if self.identity is None else self.identity.name

    def requester(self) -> Requester:
        return requester_for(self.account, self.identity, is_admin=self.is_root)


def requester_for(account: str, identity: IamIdentity | None, *, is_admin: bool) -> Requester:
    """The Requester of an account's own key (identity None), an IAM user's, or a role
    session's."""
    if identity is None:
        return Requester.account(account_id(account), canonical_id(account), is_admin=is_admin)
    if identity.is_role:
        return Requester.role_session(
            account_id(account),
            canonical_id(account),
            identity.name,
            identity.user_id,
            identity.session_name or "",
            identity.path,
        )
    return Requester.user(
        account_id(account), canonical_id(account), identity.name, identity.user_id, identity.path
    )


def session_policies(identity: IamIdentity | None) -> list[NamedPolicy] | None:
    """A role session's session policy (None: it has none, nothing narrows the role)."""
    if identity is None or identity.session_policy is None:
        return None
    return _parsed([("session-policy", identity.session_policy)])


def identity_policies(identity: IamIdentity) -> list[NamedPolicy]:
    """The identity's stored documents, parsed (each was validated when it was stored)."""
    return _parsed(identity.policies)


def _parsed(documents: Sequence[tuple[str, str]]) -> list[NamedPolicy]:
    named = []
    for source, document in documents:
        try:
            # Stored documents passed their own size check; any size is accepted here.
            policy = parse_policy(document, PolicyKind.IDENTITY, max_chars=1 << 30)
        except MalformedPolicy:
            continue  # unreachable for stored documents; never let one break the others
        named.append(NamedPolicy(source, policy))
    return named


def authorize(caller: Caller, action: str, resource: str) -> None:
    """Raise AccessDenied unless `caller` may perform iam:`action` on `resource`."""
    if caller.identity is None:
        return
    requester = caller.requester()
    context = PolicyContext(requester, f"iam:{action}", resource, caller.account_id)
    policies = Policies(
        identity=identity_policies(caller.identity), session=session_policies(caller.identity)
    )
    decision = evaluate(context, policies)
    if decision.allowed:
        return
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.verdict is Verdict.EXPLICIT_DENY
        else f"because no identity-based policy allows the iam:{action} action"
    )
    raise IamError(
        IamErrorCode.ACCESS_DENIED,
        f"User: {requester.arn} is not authorized to perform: iam:{action} on resource: "
        f"{resource} {why}",
    )
