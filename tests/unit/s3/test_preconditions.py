"""gateway.s3.preconditions: reads, copy sources and conditional writes, by table."""

from __future__ import annotations

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.meta.base import DeleteCondition, ObjectVersion, Precondition
from gateway.s3.headers import http_date
from gateway.s3.preconditions import (
    check_copy_source_preconditions,
    check_delete_condition,
    check_preconditions,
    check_write_precondition,
    delete_condition,
    put_precondition,
)

T0 = 1_138_985_109.0  # 2006-02-03T16:45:09Z, the S3 documentation's favourite moment

# -- conditional requests -------------------------------------------------------------------

ETAG = "d41d8cd98f00b204e9800998ecf8427e"
MODIFIED = T0 + 0.75  # Last-Modified shows T0: comparisons are at one-second resolution
AT = http_date(T0)
BEFORE = http_date(T0 - 1)
AFTER = http_date(T0 + 1)

OK, NOT_MODIFIED, FAILED = None, S3ErrorCode.NOT_MODIFIED, S3ErrorCode.PRECONDITION_FAILED
CONFLICT = S3ErrorCode.CONDITIONAL_REQUEST_CONFLICT

PRECONDITION_CASES: list[tuple[dict[str, str], S3ErrorCode | None]] = [
    ({}, OK),
    # If-Match
    ({"if-match": f'"{ETAG}"'}, OK),
    ({"if-match": ETAG}, OK),  # SDK users pass the bare ETag
    ({"if-match": f'"other", "{ETAG}"'}, OK),
    ({"if-match": "*"}, OK),
    ({"if-match": '"other"'}, FAILED),
    ({"if-match": f'W/"{ETAG}"'}, FAILED),  # If-Match uses the strong comparison
    # If-Unmodified-Since
    ({"if-unmodified-since": AT}, OK),
    ({"if-unmodified-since": AFTER}, OK),
    ({"if-unmodified-since": BEFORE}, FAILED),
    ({"if-unmodified-since": "not a date"}, OK),
    ({"if-match": ETAG, "if-unmodified-since": BEFORE}, OK),  # If-Match wins
    ({"if-match": "other", "if-unmodified-since": AFTER}, FAILED),
    # If-None-Match
    ({"if-none-match": f'"{ETAG}"'}, NOT_MODIFIED),
    ({"if-none-match": f'W/"{ETAG}"'}, NOT_MODIFIED),  # weak comparison
    ({"if-none-match": f'"a", W/"{ETAG}"'}, NOT_MODIFIED),
    ({"if-none-match": "*"}, NOT_MODIFIED),
    ({"if-none-match": '"other"'}, OK),
    # If-Modified-Since
    ({"if-modified-since": AT}, NOT_MODIFIED),
    ({"if-modified-since": AFTER}, NOT_MODIFIED),
    ({"if-modified-since": BEFORE}, OK),
    ({"if-modified-since": "garbage"}, OK),
    ({"if-none-match": '"other"', "if-modified-since": AT}, OK),  # If-None-Match wins
    ({"if-none-match": ETAG, "if-modified-since": BEFORE}, NOT_MODIFIED),
    # 412 is decided before 304
    ({"if-match": '"other"', "if-none-match": ETAG}, FAILED),
    ({"if-unmodified-since": BEFORE, "if-modified-since": AT}, FAILED),
]


@pytest.mark.parametrize(("headers", "expected"), PRECONDITION_CASES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_check_preconditions(
    headers: dict[str, str], expected: S3ErrorCode | None, method: str
) -> None:
    if expected is None:
        check_preconditions(headers, ETAG, MODIFIED, method=method)
        return
    with pytest.raises(S3Error) as info:
        check_preconditions(headers, ETAG, MODIFIED, method=method)
    assert info.value.code is expected


def test_check_preconditions_not_modified_carries_validators() -> None:
    with pytest.raises(S3Error) as info:
        check_preconditions({"if-none-match": ETAG}, ETAG, MODIFIED, method="GET")
    assert info.value.headers == {"ETag": f'"{ETAG}"', "Last-Modified": AT}


@pytest.mark.parametrize(
    ("headers", "condition"),
    [
        ({"if-match": "x"}, "If-Match"),
        ({"if-unmodified-since": BEFORE}, "If-Unmodified-Since"),
        ({"if-match": ETAG, "if-none-match": "*"}, "If-None-Match"),
    ],
)
def test_check_preconditions_put_fails_instead_of_304(
    headers: dict[str, str], condition: str
) -> None:
    with pytest.raises(S3Error) as info:
        check_preconditions(headers, ETAG, MODIFIED, method="PUT")
    assert info.value.code is S3ErrorCode.PRECONDITION_FAILED
    assert info.value.fields == {"Condition": condition}


def test_check_preconditions_put_ignores_if_modified_since() -> None:
    check_preconditions({"if-modified-since": AFTER}, ETAG, MODIFIED, method="PUT")


def test_check_preconditions_case_insensitive_mapping() -> None:
    from multidict import CIMultiDict, CIMultiDictProxy

    headers = CIMultiDictProxy(CIMultiDict({"If-None-Match": f'"{ETAG}"'}))
    with pytest.raises(S3Error) as info:
        check_preconditions(headers, ETAG, MODIFIED, method="GET")
    assert info.value.code is S3ErrorCode.NOT_MODIFIED


def _copy(headers: dict[str, str]) -> dict[str, str]:
    return {f"x-amz-copy-source-{name}": value for name, value in headers.items()}


@pytest.mark.parametrize(("headers", "expected"), PRECONDITION_CASES)
def test_check_copy_source_preconditions(
    headers: dict[str, str], expected: S3ErrorCode | None
) -> None:
    copy_headers = _copy(headers)
    if expected is None:
        check_copy_source_preconditions(copy_headers, ETAG, MODIFIED)
        return
    with pytest.raises(S3Error) as info:
        check_copy_source_preconditions(copy_headers, ETAG, MODIFIED)
    assert info.value.code is S3ErrorCode.PRECONDITION_FAILED


def test_check_copy_source_preconditions_ignore_plain_conditionals() -> None:
    check_copy_source_preconditions({"if-match": "other"}, ETAG, MODIFIED)


# -- conditional writes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"if-none-match": "*"}, Precondition(if_match=None, if_none_match_any=True)),
        ({"if-match": f'"{ETAG}"'}, Precondition(if_match=ETAG, if_none_match_any=False)),
        ({"if-match": f'W/"{ETAG}"'}, Precondition(if_match=ETAG, if_none_match_any=False)),
        ({"if-match": "*"}, Precondition(if_match="*", if_none_match_any=False)),
    ],
)
def test_put_precondition(headers: dict[str, str], expected: Precondition | None) -> None:
    assert put_precondition(headers) == expected


def test_put_precondition_etag_lists() -> None:
    headers = {"if-none-match": f'"{ETAG}", W/"other"', "if-match": f'"{ETAG}", "b"'}
    assert put_precondition(headers) == Precondition(
        if_match=f"{ETAG}, b", if_none_match=(ETAG, "other")
    )


WRITE_CASES: list[tuple[Precondition | None, str | None, S3ErrorCode | None]] = [
    (None, None, OK),
    (None, ETAG, OK),
    (Precondition(if_none_match_any=True), None, OK),
    (Precondition(if_none_match_any=True), ETAG, FAILED),
    (Precondition(if_match=ETAG), ETAG, OK),
    (Precondition(if_match=f'"{ETAG}"'), ETAG, OK),
    (Precondition(if_match="*"), ETAG, OK),
    (Precondition(if_match="other"), ETAG, FAILED),
    (Precondition(if_match=ETAG), None, S3ErrorCode.NO_SUCH_KEY),
    (Precondition(if_match="*"), None, S3ErrorCode.NO_SUCH_KEY),
    (Precondition(if_match=f"other, {ETAG}"), ETAG, OK),
    (Precondition(if_none_match=(ETAG,)), ETAG, FAILED),
    (Precondition(if_none_match=("other",)), ETAG, OK),
    (Precondition(if_none_match=(ETAG,)), None, OK),
    (Precondition(if_none_match_any=True, prechecked=True), ETAG, CONFLICT),
    (Precondition(if_match=ETAG, prechecked=True), None, CONFLICT),
    (Precondition(if_match="other", prechecked=True), ETAG, CONFLICT),
]


@pytest.mark.parametrize(("pre", "current", "expected"), WRITE_CASES)
def test_check_write_precondition(
    pre: Precondition | None, current: str | None, expected: S3ErrorCode | None
) -> None:
    if expected is None:
        check_write_precondition(pre, current, "k")
        return
    with pytest.raises(S3Error) as info:
        check_write_precondition(pre, current, "k")
    assert info.value.code is expected


# -- conditional deletes ----------------------------------------------------------------------

OBJECT = ObjectVersion("b", "k", "null", MODIFIED, size=5, etag=ETAG)
MARKER = ObjectVersion("b", "k", "v", MODIFIED, is_delete_marker=True)


def test_delete_condition_parsing() -> None:
    assert delete_condition(None, None, None) is None
    assert delete_condition(f'"{ETAG}"', http_date(T0), "5") == DeleteCondition(
        f'"{ETAG}"', float(T0), 5
    )
    iso = delete_condition(None, "2023-11-14T22:13:20.750Z", None)
    assert iso == DeleteCondition(last_modified=1_700_000_000.75)
    for bad in ({"size": "-1"}, {"size": "x"}, {"last_modified": "yesterday"}):
        args = {"if_match": None, "last_modified": None, "size": None, **bad}
        with pytest.raises(S3Error) as info:
            delete_condition(**args)
        assert info.value.code is S3ErrorCode.INVALID_ARGUMENT


DELETE_CASES: list[tuple[DeleteCondition, ObjectVersion | None, S3ErrorCode | None]] = [
    (DeleteCondition(if_match=ETAG), OBJECT, OK),
    (DeleteCondition(if_match="*"), OBJECT, OK),
    (DeleteCondition(if_match="other"), OBJECT, FAILED),
    (DeleteCondition(if_match="*"), None, S3ErrorCode.NO_SUCH_KEY),
    (DeleteCondition(if_match=ETAG), MARKER, S3ErrorCode.NO_SUCH_KEY),
    (DeleteCondition(size=5), OBJECT, OK),
    (DeleteCondition(size=6), OBJECT, FAILED),
    (DeleteCondition(size=6), None, OK),
    (DeleteCondition(last_modified=float(T0)), OBJECT, OK),  # HTTP date: whole seconds
    (DeleteCondition(last_modified=T0 + 0.75), OBJECT, OK),  # ms, as listings show it
    (DeleteCondition(last_modified=T0 + 0.5), OBJECT, FAILED),
    (DeleteCondition(last_modified=T0 + 1.0), OBJECT, FAILED),
    (DeleteCondition(last_modified=T0 + 1.0), MARKER, OK),
]


@pytest.mark.parametrize(("cond", "target", "expected"), DELETE_CASES)
def test_check_delete_condition(
    cond: DeleteCondition, target: ObjectVersion | None, expected: S3ErrorCode | None
) -> None:
    if expected is None:
        check_delete_condition(cond, target, "k")
        return
    with pytest.raises(S3Error) as info:
        check_delete_condition(cond, target, "k")
    assert info.value.code is expected
