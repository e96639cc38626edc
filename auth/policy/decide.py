"""One request, several required actions: every one must be allowed. Pure.

A request can need more than one action (auth/policy/actions.py: a versioned read, an
ACL header on a write, a copy's source object). Dispatch passes the required actions and
a `policies_for` callback that returns, for each one, the owning account of its resource
and the policies that govern it (the copy source may live in another bucket, with
another owner, policy and ACL); the first action that is not allowed decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from auth.policy.actions import RequiredAction
from auth.policy.context import PolicyContext, Requester
from auth.policy.engine import Decision, Policies, Verdict, evaluate

PoliciesFor = Callable[[RequiredAction], tuple[str | None, Policies]]


def decide(
    requester: Requester,
    required: Sequence[RequiredAction],
    keys: Mapping[str, tuple[str, ...]],
    policies_for: PoliciesFor,
) -> tuple[Decision, RequiredAction | None]:
    """The decision for the whole request, and the required action that was refused.

    An explicit deny on any action wins over an implicit one on an earlier action, so the
    audit record names the statement that really blocked the request.
    """
    refused: tuple[Decision, RequiredAction] | None = None
    last = Decision(Verdict.IMPLICIT_DENY, "the request needs no action")
    for needed in required:
        owner, policies = policies_for(needed)
        context = PolicyContext(requester, needed.action, needed.resource, owner, keys)
        decision = evaluate(context, policies)
        if decision.verdict is Verdict.EXPLICIT_DENY:
            return decision, needed
        if not decision.allowed and refused is None:
            refused = (decision, needed)
        last = decision
    if refused is not None:
        return refused
    return last, None
