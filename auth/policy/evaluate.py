"""Who may do what, for now: a bucket's owner and root may use it; anonymous may not.

Bucket policies and canned ACLs (public buckets) will extend `authorize`; it stays pure:
it sees the principal, the IAM action of the route, whether the route says the action is
a service-level one (ListBuckets, CreateBucket: no bucket owner to match) and the bucket's
owner.
"""

from __future__ import annotations

from auth.credentials import Principal
from gateway.errors import S3Error, S3ErrorCode


def authorize(
    principal: Principal, action: str, bucket_owner: str | None, *, service_level: bool = False
) -> None:
    """Raise S3Error(ACCESS_DENIED) unless the principal may perform `action`."""
    if principal.anonymous:
        raise S3Error(S3ErrorCode.ACCESS_DENIED)
    if principal.is_root:
        return
    if service_level:
        return
    if bucket_owner is not None and bucket_owner == principal.user:
        return
    raise S3Error(S3ErrorCode.ACCESS_DENIED)
