"""May this caller assume this role? The role's trust policy, and the caller's own side. Pure.

As IAM decides it
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html,
"Delegating access across AWS accounts"):

- the trust policy must Allow the caller `sts:AssumeRole` (no Deny for it). Naming the
  caller itself (its user or role ARN, or "*") is enough in the role's own account;
  naming the caller's account delegates: the caller's identity policies must then allow
  `sts:AssumeRole` on the role too.
- across accounts the caller's identity policies must allow it as well, whatever the
  trust policy names (an account's own credentials allow themselves).
- an explicit Deny in the caller's identity (or session) policies always wins.

A web identity (AssumeRoleWithWebIdentity) has no identity policies: the trust policy
must name its provider (`Principal: {"Federated": <provider ARN>}`), with conditions on
the token's claims as `<issuer>:sub`, `<issuer>:aud`... keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from auth.policy.context import GrantLevel, PolicyContext, Requester
from auth.policy.engine import NamedPolicy, Policies, Verdict, evaluate, trust_level
from auth.policy.model import Policy

ASSUME_ROLE = "sts:AssumeRole"
ASSUME_ROLE_WITH_WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"


def may_assume(
    requester: Requester,
    trust: Policy,
    role_arn: str,
    role_account_id: str,
    *,
    identity: Sequence[NamedPolicy] = (),
    session: Sequence[NamedPolicy] | None = None,
    keys: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[bool, str]:
    """(allowed, why) for `requester` calling AssumeRole on `role_arn`."""
    keys = keys or {}
    on_role = PolicyContext(requester, ASSUME_ROLE, role_arn, role_account_id, keys)
    level = trust_level(trust, on_role)
    if level is None:
        return False, "explicitly denied by the role's trust policy"
    if level is GrantLevel.NONE:
        return False, "the role's trust policy does not allow the caller"
    if not requester.is_iam:
        return True, "the trust policy allows the account"
    own = PolicyContext(requester, ASSUME_ROLE, role_arn, requester.account_id, keys)
    decision = evaluate(own, Policies(identity=identity, session=session))
    if decision.verdict is Verdict.EXPLICIT_DENY:
        return False, "explicitly denied by an identity-based policy"
    delegated = level is GrantLevel.ACCOUNT or role_account_id != requester.account_id
    if delegated and not decision.allowed:
        return False, "no identity-based policy allows the sts:AssumeRole action"
    return True, "allowed by the role's trust policy"


def web_identity_may_assume(
    trust: Policy,
    role_arn: str,
    role_account_id: str,
    provider_arn: str,
    claims_keys: Mapping[str, tuple[str, ...]],
) -> bool:
    """Whether the trust policy lets a web identity of `provider_arn`, with these claim
    condition keys, take the role."""
    context = PolicyContext(
        Requester.anonymous(), ASSUME_ROLE_WITH_WEB_IDENTITY, role_arn, role_account_id, claims_keys
    )
    return trust_level(trust, context, federated=provider_arn) is GrantLevel.PRINCIPAL
