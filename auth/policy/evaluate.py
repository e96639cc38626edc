"""Who may do what, for now: a bucket's owner and root may use it; anonymous may not.

Bucket policies and canned ACLs (public buckets) will extend `authorize`; it stays pure:
it sees the principal, the IAM action of the route and the bucket's owner.
"""

from __future__ import annotations

from auth.credentials import Principal
from gateway.errors import S3Error, S3ErrorCode

# Actions that need no existing bucket (the bucket owner is None for them).
SERVICE_ACTIONS = frozenset({"s3:ListAllMyBuckets", "s3:CreateBucket"})


def authorize(principal: Principal, action: str, bucket_owner: str | None) -> None:
    """Raise S3Error(ACCESS_DENIED) unless the principal may perform `action`."""
    if principal.anonymous:
        raise S3Error(S3ErrorCode.ACCESS_DENIED)
    if principal.is_root:
        return
    if action in SERVICE_ACTIONS:
        return
    if bucket_owner is not None and bucket_owner == principal.user:
        return
    raise S3Error(S3ErrorCode.ACCESS_DENIED)
