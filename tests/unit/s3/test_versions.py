"""gateway.s3.versions: version ids, and the answers for an addressed version, as tables."""

from __future__ import annotations

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import ObjectVersion
from gateway.s3.versions import addressable, addressed, copy_source, missing, new_version_id

OBJECT = ObjectVersion("b", "k", "v1", 1.0)
MARKER = ObjectVersion("b", "k", "v2", 2.0, is_delete_marker=True)
MARKER_HEADERS = {"x-amz-delete-marker": "true", "x-amz-version-id": "v2"}


def test_new_version_id_sorts_by_creation_and_is_unique() -> None:
    ids = [new_version_id(t) for t in (1.0, 1.00001, 2.0, 1_700_000_000.5)]
    assert ids == sorted(ids)
    assert all(len(i) == 32 for i in ids)
    assert new_version_id(5.0) != new_version_id(5.0)


@pytest.mark.parametrize(
    ("version_id", "code", "fields"),
    [
        (None, S3ErrorCode.NO_SUCH_KEY, {"Key": "k"}),
        ("v9", S3ErrorCode.NO_SUCH_VERSION, {"Key": "k", "VersionId": "v9"}),
    ],
)
def test_missing(version_id: str | None, code: S3ErrorCode, fields: dict[str, str]) -> None:
    err = missing("k", version_id)
    assert err.code is code and err.fields == fields


@pytest.mark.parametrize(
    ("found", "version_id", "code", "headers"),
    [
        (OBJECT, None, None, {}),
        (OBJECT, "v1", None, {}),
        (None, None, S3ErrorCode.NO_SUCH_KEY, {}),
        (None, "v9", S3ErrorCode.NO_SUCH_VERSION, {}),
        (MARKER, None, S3ErrorCode.NO_SUCH_KEY, MARKER_HEADERS),
        (MARKER, "v2", S3ErrorCode.METHOD_NOT_ALLOWED, MARKER_HEADERS),
    ],
)
def test_addressed(
    found: ObjectVersion | None,
    version_id: str | None,
    code: S3ErrorCode | None,
    headers: dict[str, str],
) -> None:
    if code is None:
        assert addressed(found, "k", version_id) is found
        assert addressable(found, "k", version_id) is found
        return
    with pytest.raises(S3Error) as err:
        addressed(found, "k", version_id)
    assert err.value.code is code
    assert err.value.headers == headers


@pytest.mark.parametrize(
    ("found", "version_id", "code"),
    [
        (OBJECT, None, None),
        (None, None, S3ErrorCode.NO_SUCH_KEY),
        (None, "v9", S3ErrorCode.NO_SUCH_VERSION),
        (MARKER, None, S3ErrorCode.NO_SUCH_KEY),
        (MARKER, "v2", S3ErrorCode.NO_SUCH_VERSION),  # a marker is no copy source
    ],
)
def test_copy_source(
    found: ObjectVersion | None, version_id: str | None, code: S3ErrorCode | None
) -> None:
    if code is None:
        assert copy_source(found, "k", version_id) is found
        return
    with pytest.raises(S3Error) as err:
        copy_source(found, "k", version_id)
    assert err.value.code is code
    assert err.value.headers == {}
