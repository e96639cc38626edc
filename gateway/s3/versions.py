"""Object versions: their ids, and what S3 answers when a request addresses one. Pure.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeleteMarker.html: a request without
a version id addresses the latest version; when that is a delete marker the answer is
NoSuchKey (with x-amz-delete-marker). A request naming a delete marker by version id gets
MethodNotAllowed; a version id that does not exist, NoSuchVersion. A copy source is
different: a delete marker, latest or named, is simply not there (NoSuchKey, NoSuchVersion).
"""

from __future__ import annotations

import secrets

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ObjectVersion


def new_version_id(now: float) -> str:
    """Time-sortable and unique: microseconds since the epoch, then 64 random bits, so ids
    sort by creation and two replicas never make the same one."""
    return f"{int(now * 1_000_000):016x}{secrets.token_hex(8)}"


def missing(key: str, version_id: str | None) -> S3Error:
    """The answer for an addressed version that does not exist."""
    if version_id is not None:
        return S3Error(S3ErrorCode.NO_SUCH_VERSION, Key=key, VersionId=version_id)
    return S3Error(S3ErrorCode.NO_SUCH_KEY, Key=key)


def addressable(version: ObjectVersion, key: str, version_id: str | None) -> ObjectVersion:
    """`version` unless it is a delete marker, which is answered as the module docstring says."""
    if version.is_delete_marker:
        marker = {"x-amz-delete-marker": "true", "x-amz-version-id": version.version_id}
        if version_id is not None:
            raise S3Error(S3ErrorCode.METHOD_NOT_ALLOWED, headers=marker)
        raise S3Error(S3ErrorCode.NO_SUCH_KEY, headers=marker, Key=key)
    return version


def addressed(version: ObjectVersion | None, key: str, version_id: str | None) -> ObjectVersion:
    """The version an object request addresses, from what the store found (None: nothing)."""
    if version is None:
        raise missing(key, version_id)
    return addressable(version, key, version_id)


def copy_source(version: ObjectVersion | None, key: str, version_id: str | None) -> ObjectVersion:
    """The version a copy source (x-amz-copy-source) names; a delete marker is not one."""
    if version is None or version.is_delete_marker:
        raise missing(key, version_id)
    return version
