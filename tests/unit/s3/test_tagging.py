"""gateway.s3.tagging: the validation table and the x-amz-tagging header."""

from __future__ import annotations

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.tagging import (
    MAX_BUCKET_TAGS,
    Tag,
    parse_tagging_header,
    tagging_header,
    validate_tags,
)

VALID: list[tuple[str, list[Tag], int, dict[str, str]]] = [
    ("empty", [], 10, {}),
    ("one", [Tag("a", "1")], 10, {"a": "1"}),
    ("empty value", [Tag("a", "")], 10, {"a": ""}),
    ("ten", [Tag(f"k{i}", "v") for i in range(10)], 10, {f"k{i}": "v" for i in range(10)}),
    ("key of 128 chars", [Tag("é" * 128, "v")], 10, {"é" * 128: "v"}),
    ("value of 256 chars", [Tag("k", "ü" * 256)], 10, {"k": "ü" * 256}),
    ("awsome is not aws:", [Tag("awsome", "v")], 10, {"awsome": "v"}),
    (
        "fifty on a bucket",
        [Tag(f"k{i}", "v") for i in range(50)],
        MAX_BUCKET_TAGS,
        {f"k{i}": "v" for i in range(50)},
    ),
]

INVALID: list[tuple[str, list[Tag], int]] = [
    ("eleven", [Tag(f"k{i}", "v") for i in range(11)], 10),
    ("fifty-one on a bucket", [Tag(f"k{i}", "v") for i in range(51)], MAX_BUCKET_TAGS),
    ("key of 129 chars", [Tag("k" * 129, "v")], 10),
    ("value of 257 chars", [Tag("k", "v" * 257)], 10),
    ("duplicate key", [Tag("a", "1"), Tag("a", "2")], 10),
    ("aws: prefix", [Tag("aws:cloudformation", "x")], 10),
    ("AWS: prefix", [Tag("AWS:x", "x")], 10),
    ("empty key", [Tag("", "x")], 10),
]


@pytest.mark.parametrize(("name", "tags", "limit", "expected"), VALID, ids=[c[0] for c in VALID])
def test_valid(name: str, tags: list[Tag], limit: int, expected: dict[str, str]) -> None:
    assert validate_tags(tags, limit=limit) == expected


@pytest.mark.parametrize(("name", "tags", "limit"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid(name: str, tags: list[Tag], limit: int) -> None:
    with pytest.raises(S3Error) as err:
        validate_tags(tags, limit=limit)
    assert err.value.code is S3ErrorCode.INVALID_TAG


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("a=1&b=2", {"a": "1", "b": "2"}),
        ("key%20one=value%2Fx", {"key one": "value/x"}),
        ("flag", {"flag": ""}),
        ("a=", {"a": ""}),
        ("", {}),
    ],
)
def test_parse_tagging_header(header: str, expected: dict[str, str]) -> None:
    assert parse_tagging_header(header) == expected


def test_header_duplicates_and_limits() -> None:
    with pytest.raises(S3Error) as err:
        parse_tagging_header("a=1&a=2")
    assert err.value.code is S3ErrorCode.INVALID_TAG
    with pytest.raises(S3Error):
        parse_tagging_header("&".join(f"k{i}=v" for i in range(11)))


def test_header_round_trip() -> None:
    tags = {"project x": "a/b", "é": "=&"}
    assert parse_tagging_header(tagging_header(tags)) == tags
