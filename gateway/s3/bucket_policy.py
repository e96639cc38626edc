"""A PutBucketPolicy body as S3 judges it: the text to store and its parsed policy, or the
MalformedPolicy S3 answers with the reason. Pure.

S3 wants JSON starting with '{' (its message says so), at most 20 KB, and a valid bucket
policy of this bucket (auth.policy.model: principals, actions, resources, conditions).
"""

from __future__ import annotations

from auth.policy.model import (
    MAX_BUCKET_POLICY_BYTES,
    MalformedPolicy,
    Policy,
    PolicyKind,
    parse_policy,
)
from gateway.errors import S3Error, S3ErrorCode


def malformed_policy(reason: str) -> S3Error:
    return S3Error(S3ErrorCode.MALFORMED_POLICY, reason)


def too_large() -> S3Error:
    return malformed_policy(f"Policies must be no larger than {MAX_BUCKET_POLICY_BYTES // 1024} KB")


def parse_bucket_policy(data: bytes, bucket: str) -> tuple[str, Policy]:
    """The policy text to store and its parsed form; S3Error(MalformedPolicy) if invalid."""
    if len(data) > MAX_BUCKET_POLICY_BYTES:
        raise too_large()
    if not data.lstrip().startswith(b"{"):
        raise malformed_policy("Policies must be valid JSON and the first byte must be '{'")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise malformed_policy("This policy contains invalid Json") from exc
    try:
        return text, parse_policy(text, PolicyKind.BUCKET, bucket=bucket)
    except MalformedPolicy as exc:
        raise malformed_policy(exc.reason) from exc
