"""Policy evaluation: identity policies, the bucket policy and the ACL -> a Decision. Pure.

As AWS documents it for S3
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-s3-evaluates-access-control.html):

1. The bucket owner's account (and the service administrator) may always get, put and
   delete the bucket policy, so no policy can lock the owner out.
2. An explicit Deny in any applicable policy (the user's identity policies, the bucket
   policy) wins.
3. Otherwise an Allow decides, by who asks:
   - anonymous: a bucket-policy statement or ACL grant for everyone;
   - the account itself, in its own account: always (AWS: the root user);
   - an IAM user in its own account: an identity-policy Allow, or a resource grant naming
     the user itself (or everyone);
   - across accounts: the caller's own side (its identity Allow; implicit for an account)
     AND a resource grant to it or to its account.
4. Otherwise the implicit deny.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

from auth.policy import conditions
from auth.policy.context import GrantLevel, PolicyContext, Requester
from auth.policy.model import Effect, Policy, Principals, Statement
from auth.policy.public import is_public_policy
from auth.policy.wildcards import Lookup, glob_match, pattern_match, substitute
from gateway.values import quick_init

# Actions the owner of the bucket can always perform (the lockout escape hatch).
POLICY_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})
BUCKET_POLICY = "bucket-policy"
ACL = "acl"


class Verdict(Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class NamedPolicy:
    """An identity policy with where it came from, e.g. `user/alice/inline/ReadOnly`."""

    name: str
    policy: Policy


@quick_init
@dataclass(frozen=True)
class Policies:
    """Everything that can grant or deny one request.

    `identity`: the IAM user's policies (inline, attached, and its groups'); ignored for
    an account's own credentials and for anonymous callers. `acl`: how far the resource's
    ACL reaches this requester for this action (auth/policy/acl.py computes it).
    """

    identity: Sequence[NamedPolicy] = ()
    bucket: Policy | None = None
    acl: GrantLevel = GrantLevel.NONE
    # PublicAccessBlock RestrictPublicBuckets: a public bucket policy grants nothing to
    # callers outside the bucket owner's account (its Deny statements still apply).
    # IgnorePublicAcls is the caller's: acl.without_public_grants before grant_level.
    restrict_public: bool = False
    # An STS session's policies (AssumeRole's Policy): None without one. With them the
    # session may do only what both they and the role's side allow; their Deny wins.
    session: Sequence[NamedPolicy] | None = None


@dataclass(frozen=True)
class Match:
    """A statement that took part in a decision: its source, Sid and position."""

    source: str  # a NamedPolicy name, "bucket-policy" or "acl"
    sid: str | None = None
    index: int = 0


@quick_init
@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    matches: tuple[Match, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW


def evaluate(context: PolicyContext, policies: Policies) -> Decision:
    """Decide one (requester, action, resource) question. Never raises."""
    if policies.session is None:
        return _evaluate(context, policies)
    session = [(named.name, _applicable(named.policy, context)) for named in policies.session]
    for name, statements in session:
        for statement in statements:
            if statement.effect is Effect.DENY:
                return _deny(name, statement)
    decision = _evaluate(context, policies)
    if not decision.allowed:
        return decision
    session_allow = _first_allow(session)
    if session_allow is None:
        return _implicit("the session policy does not allow it")
    return replace(decision, matches=(*decision.matches, session_allow))


def trust_level(
    policy: Policy, context: PolicyContext, *, federated: str | None = None
) -> GrantLevel | None:
    """How far a role's trust policy lets the caller take `context.action` on the role:
    None for an explicit Deny, else the reach of its best Allow (GrantLevel.ACCOUNT: it
    names the caller's account, a delegation its own identity policies must still allow).

    `federated`: the caller is a web identity of this OpenID Connect provider ARN
    (`Principal: {"Federated": ...}`), not `context.requester`."""

    def level(statement: Statement) -> GrantLevel:
        if federated is None:
            return _principal_level(statement, context.requester)
        principals = statement.principals
        if principals is None or statement.not_principal:
            return GrantLevel.NONE
        named = principals.everyone or federated in principals.federated
        return GrantLevel.PRINCIPAL if named else GrantLevel.NONE

    statements = _applicable(policy, context)
    if any(s.effect is Effect.DENY and level(s) > GrantLevel.NONE for s in statements):
        return None
    return max((level(s) for s in statements if s.effect is Effect.ALLOW), default=GrantLevel.NONE)


def _evaluate(context: PolicyContext, policies: Policies) -> Decision:
    requester = context.requester
    is_user = requester.is_iam
    owner = _is_owner_account(requester, context.resource_account)
    if owner and context.action in POLICY_ACTIONS:
        return Decision(Verdict.ALLOW, "the bucket owner may always manage the bucket policy")
    # Each statement is matched once; the deny and allow passes below filter by effect.
    identity = [
        (named.name, _applicable(named.policy, context))
        for named in (policies.identity if is_user else ())
    ]
    bucket = [] if policies.bucket is None else _applicable(policies.bucket, context)
    for name, statements in identity:
        for statement in statements:
            if statement.effect is Effect.DENY:
                return _deny(name, statement)
    for statement in bucket:
        if (
            statement.effect is Effect.DENY
            and _principal_level(statement, requester) > GrantLevel.NONE
        ):
            return _deny(BUCKET_POLICY, statement)

    if owner:
        return Decision(Verdict.ALLOW, "the account may do everything in its own account")
    resource_level, resource_match = _resource_grant(context, policies, bucket)
    if requester.is_anonymous:
        if resource_level is GrantLevel.PRINCIPAL and resource_match is not None:
            return Decision(Verdict.ALLOW, "granted to everyone", (resource_match,))
        return _implicit("anonymous request with no public grant")
    identity_allow = _first_allow(identity)
    if is_user and context.resource_account in (None, requester.account_id):
        if identity_allow is not None:
            return Decision(Verdict.ALLOW, "allowed by an identity policy", (identity_allow,))
        if resource_level is GrantLevel.PRINCIPAL and resource_match is not None:
            return Decision(Verdict.ALLOW, "granted to the user by the resource", (resource_match,))
        return _implicit("no statement allows the user")
    # Across accounts both sides must allow; an account's own side is implicit.
    own_side = identity_allow if is_user else Match("account")
    if own_side is None:
        return _implicit("cross-account: the caller's identity policies do not allow it")
    if resource_match is None:
        return _implicit("cross-account: the resource grants nothing to the caller")
    return Decision(Verdict.ALLOW, "cross-account: both sides allow", (own_side, resource_match))


def _is_owner_account(requester: Requester, resource_account: str | None) -> bool:
    """The account's own credentials in its own account (or the administrator anywhere)."""
    if requester.is_anonymous or requester.is_iam:
        return False
    return requester.is_admin or resource_account in (None, requester.account_id)


def _deny(source: str, statement: Statement) -> Decision:
    match = Match(source, statement.sid, statement.index)
    return Decision(Verdict.EXPLICIT_DENY, f"explicitly denied by {source}", (match,))


def _implicit(reason: str) -> Decision:
    return Decision(Verdict.IMPLICIT_DENY, reason)


def _first_allow(identity: list[tuple[str, list[Statement]]]) -> Match | None:
    for name, statements in identity:
        for statement in statements:
            if statement.effect is Effect.ALLOW:
                return Match(name, statement.sid, statement.index)
    return None


def _resource_grant(
    context: PolicyContext, policies: Policies, bucket: list[Statement]
) -> tuple[GrantLevel, Match | None]:
    best, best_match = GrantLevel.NONE, None
    outsider = context.requester.is_anonymous or (
        context.resource_account is not None
        and context.requester.account_id != context.resource_account
    )
    restricted = (
        policies.restrict_public
        and outsider
        and policies.bucket is not None
        and is_public_policy(policies.bucket)
    )
    if policies.bucket is not None and not restricted:
        for statement in bucket:
            if statement.effect is not Effect.ALLOW:
                continue
            level = _principal_level(statement, context.requester)
            if level > best:
                best, best_match = level, Match(BUCKET_POLICY, statement.sid, statement.index)
    if policies.acl > best:
        best, best_match = policies.acl, Match(ACL)
    return best, best_match


def _applicable(policy: Policy, context: PolicyContext) -> list[Statement]:
    """Statements whose action, resource and conditions match (principal aside)."""
    lookup: Lookup | None = context.single if policy.expands_variables else None
    return [s for s in policy.statements if _statement_matches(s, context, lookup)]


def _statement_matches(statement: Statement, context: PolicyContext, lookup: Lookup | None) -> bool:
    action_hit = any(glob_match(a, context.action, ignore_case=True) for a in statement.actions)
    if action_hit == statement.not_action:
        return False
    resource_hit = any(pattern_match(r, context.resource, lookup) for r in statement.resources)
    if resource_hit == statement.not_resource:
        return False
    return all(_condition_holds(c, context, lookup) for c in statement.conditions)


def _condition_holds(
    clause: conditions.ConditionClause, context: PolicyContext, lookup: Lookup | None
) -> bool:
    actual = context.values(clause.key)
    if lookup is not None and any("${" in v for v in clause.values):
        if clause.if_exists and not actual:
            return True
        # A substituted value is literal: in a *Like pattern a `*` in it would widen.
        guard = _literal(lookup) if clause.base.endswith("Like") else lookup
        resolved = [substitute(v, guard) for v in clause.values]
        if any(v is None for v in resolved):
            return False  # IAM: a variable without a value invalidates the statement
        clause = replace(clause, values=tuple(v for v in resolved if v is not None))
    return conditions.evaluate(clause, actual)


def _literal(lookup: Lookup) -> Lookup:
    def guarded(key: str) -> str | None:
        value = lookup(key)
        return None if value is None or "*" in value or "?" in value else value

    return guarded


def _principal_level(statement: Statement, requester: Requester) -> GrantLevel:
    principals = statement.principals
    if principals is None:  # identity policy: the principal is the policy's owner
        return GrantLevel.PRINCIPAL
    if statement.not_principal:
        return GrantLevel.NONE if _excluded(principals, requester) else GrantLevel.PRINCIPAL
    if principals.everyone:
        return GrantLevel.PRINCIPAL
    if requester.is_anonymous:
        return GrantLevel.NONE
    if any(a in principals.aws for a in requester.principal_arns):
        return GrantLevel.PRINCIPAL
    if _names_account(principals, requester):
        # An account's grant reaches the account itself; its IAM users only by delegation.
        return GrantLevel.ACCOUNT if requester.is_iam else GrantLevel.PRINCIPAL
    return GrantLevel.NONE


def _names_account(principals: Principals, requester: Requester) -> bool:
    return (
        requester.account_id in principals.aws
        or requester.account_arn in principals.aws
        or requester.canonical_id in principals.canonical_users
    )


def _excluded(principals: Principals, requester: Requester) -> bool:
    """NotPrincipal spares a caller only when every identity of it is listed: an IAM user
    needs both its ARN and its account (IAM's NotPrincipal documentation)."""
    if principals.everyone:
        return True
    if requester.is_anonymous:
        return False
    account_listed = _names_account(principals, requester)
    if not requester.is_iam:
        return account_listed
    return account_listed and any(a in principals.aws for a in requester.principal_arns)
