"""Who may call the IAM API, and on what. Pure.

An account's own keys (and the service's root, which acts in its own account `root`)
manage every IAM entity of their account. An IAM user may call an action only when its
identity policies allow `iam:<Action>` on the entity's ARN (auth/policy/engine.py decides;
an explicit Deny wins). Nobody reaches into another account: every operation acts in the
caller's account. Anonymous callers never get this far (AccessDenied at the door).
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.credentials import account_id, canonical_id
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

    @property
    def account_id(self) -> str:
        return account_id(self.account)

    @property
    def user_name(self) -> str | None:
        return None if self.identity is None else self.identity.name

    def requester(self) -> Requester:
        if self.identity is None:
            return Requester.account(
                self.account_id, canonical_id(self.account), is_admin=self.is_root
            )
        return Requester.user(
            self.account_id,
            canonical_id(self.account),
            self.identity.name,
            self.identity.user_id,
            self.identity.path,
        )


def identity_policies(identity: IamIdentity) -> list[NamedPolicy]:
    """The identity's stored documents, parsed (each was validated when it was stored)."""
    named = []
    for source, document in identity.policies:
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
    decision = evaluate(context, Policies(identity=identity_policies(caller.identity)))
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
