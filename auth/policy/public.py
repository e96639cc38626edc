"""What is public (AWS's rule for bucket policies) and the PublicAccessBlock rules.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status
A policy is public when one of its Allow statements grants to a non-fixed principal
(`*`, or NotPrincipal) unless a condition pins the caller down: aws:SourceIp limited to
a set of CIDRs, or a fixed (wildcard- and variable-free) value of aws:SourceArn,
aws:SourceVpc, aws:SourceVpce, aws:SourceOwner, aws:SourceAccount, aws:PrincipalAccount,
aws:PrincipalArn, aws:PrincipalOrgID, s3:x-amz-server-side-encryption-aws-kms-key-id or
aws:userid (outside `AROLEID:*`).

RestrictPublicBuckets is applied by the engine (Policies.restrict_public).

Assumption where AWS gives no number: a CIDR pins the caller only if it is no wider than
/8 (IPv4) or /32 (IPv6); `0.0.0.0/0` and the like leave the policy public.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from auth.policy.acl import Acl, without_public_grants
from auth.policy.acl import is_public as is_public_acl
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


@dataclass(frozen=True)
class PublicAccessBlock:
    """A bucket's PublicAccessBlock configuration (all False when none is set).

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-options
    """

    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    def refuses_acl(self, acl: Acl | None) -> bool:
        """BlockPublicAcls: a request setting a public ACL (PutBucketAcl, PutObjectAcl,
        PutObject, CopyObject, CreateMultipartUpload, CreateBucket) is AccessDenied."""
        return self.block_public_acls and acl is not None and is_public_acl(acl)

    def refuses_policy(self, policy: Policy) -> bool:
        """BlockPublicPolicy: PutBucketPolicy with a public policy is AccessDenied."""
        return self.block_public_policy and is_public_policy(policy)

    def effective_acl(self, acl: Acl) -> Acl:
        """IgnorePublicAcls: evaluation sees the ACL without its public grants."""
        return without_public_grants(acl) if self.ignore_public_acls else acl

    def to_json(self) -> str:
        """The stored form (bucket_configs "public-access-block")."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> PublicAccessBlock:
        return cls() if text is None else cls(**json.loads(text))
