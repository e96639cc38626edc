"""Is a bucket policy public? AWS's rule for GetBucketPolicyStatus and BlockPublicPolicy.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status
A policy is public when one of its Allow statements grants to a non-fixed principal
(`*`, or NotPrincipal) unless a condition pins the caller down: aws:SourceIp limited to
a set of CIDRs, or a fixed (wildcard- and variable-free) value of aws:SourceArn,
aws:SourceVpc, aws:SourceVpce, aws:SourceOwner, aws:SourceAccount, aws:PrincipalAccount,
aws:PrincipalArn, aws:PrincipalOrgID, s3:x-amz-server-side-encryption-aws-kms-key-id or
aws:userid (outside `AROLEID:*`).

Assumption where AWS gives no number: a CIDR pins the caller only if it is no wider than
/8 (IPv4) or /32 (IPv6); `0.0.0.0/0` and the like leave the policy public.
"""

from __future__ import annotations

from auth.policy.conditions import ConditionClause, parse_network
from auth.policy.model import Effect, Policy, Statement

_FIXED_KEYS = frozenset(
    {
        "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner",
        "aws:sourceaccount", "aws:principalaccount", "aws:principalarn",
        "aws:principalorgid", "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "aws:userid",
    }
)  # fmt: skip
# Operators that compare for equality with the listed values (so fixed values pin).
_PINNING = frozenset(
    {"StringEquals", "StringEqualsIgnoreCase", "ArnEquals", "StringLike", "ArnLike"}
)
_MIN_PREFIX = {4: 8, 6: 32}


def is_public_policy(policy: Policy) -> bool:
    return any(_is_public(s) for s in policy.statements if s.effect is Effect.ALLOW)


def _is_public(statement: Statement) -> bool:
    principals = statement.principals
    if principals is None:
        return False
    open_principal = statement.not_principal or principals.everyone
    if not open_principal:
        return False
    return not any(_pins(c) for c in statement.conditions)


def _pins(clause: ConditionClause) -> bool:
    """Whether this clause limits the statement to known callers."""
    if clause.if_exists or clause.set_operator is not None:
        return False  # absent keys (or an empty set) would let anyone through
    key = clause.key.lower()
    if key == "aws:sourceip":
        return clause.base == "IpAddress" and all(_narrow(v) for v in clause.values)
    if key not in _FIXED_KEYS or clause.base not in _PINNING:
        return False
    # A pattern (AWS: even aws:userid "AROLEID:*") or a variable pins nobody down.
    return not any("*" in v or "?" in v or "${" in v for v in clause.values)


def _narrow(cidr: str) -> bool:
    network = parse_network(cidr)
    return network is not None and network.prefixlen >= _MIN_PREFIX[network.version]
