"""ListObjects v1 and v2 through boto3: prefixes, delimiters, pagination, url encoding."""

from __future__ import annotations

from typing import Any

import pytest

from auth.credentials import canonical_id

pytestmark = pytest.mark.all_backends

KEYS = [
    "a/1",
    "a/2",
    "a/b/3",
    "a/b/4",
    "b/5",
    "c",
    "d e/6",
    "%/7",
    "\u00e9/8",
]


@pytest.fixture
def filled(s3: Any, bucket: str) -> str:
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def all_v2(s3: Any, bucket: str, **kwargs: Any) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    prefixes: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, **kwargs):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return keys, prefixes


def all_v1(s3: Any, bucket: str, **kwargs: Any) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    prefixes: list[str] = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, **kwargs):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return keys, prefixes


def utf8_sorted(keys: list[str]) -> list[str]:
    return sorted(keys, key=lambda k: k.encode())


def test_flat_listing_sorted_by_utf8(s3: Any, filled: str) -> None:
    keys, prefixes = all_v2(s3, filled)
    assert keys == utf8_sorted(KEYS) and prefixes == []


@pytest.mark.parametrize("page_size", [1, 2, 3, 1000])
def test_delimiter_pagination(s3: Any, filled: str, page_size: int) -> None:
    keys, prefixes = all_v2(s3, filled, Delimiter="/", PaginationConfig={"PageSize": page_size})
    assert keys == ["c"]
    assert prefixes == utf8_sorted(["a/", "b/", "d e/", "%/", "\u00e9/"])
    keys1, prefixes1 = all_v1(s3, filled, Delimiter="/", PaginationConfig={"PageSize": page_size})
    assert (keys1, prefixes1) == (keys, prefixes)


def test_prefix_and_delimiter(s3: Any, filled: str) -> None:
    keys, prefixes = all_v2(s3, filled, Prefix="a/", Delimiter="/")
    assert keys == ["a/1", "a/2"] and prefixes == ["a/b/"]
    keys, prefixes = all_v2(s3, filled, Prefix="a/b")
    assert keys == ["a/b/3", "a/b/4"]


@pytest.mark.parametrize("page_size", [1, 4])
def test_flat_pagination_v1_and_v2(s3: Any, filled: str, page_size: int) -> None:
    cfg = {"PageSize": page_size}
    assert all_v2(s3, filled, PaginationConfig=cfg)[0] == utf8_sorted(KEYS)
    assert all_v1(s3, filled, PaginationConfig=cfg)[0] == utf8_sorted(KEYS)


def test_start_after_and_max_keys(s3: Any, filled: str) -> None:
    page = s3.list_objects_v2(Bucket=filled, StartAfter="a/b/4", MaxKeys=2)
    assert [o["Key"] for o in page["Contents"]] == utf8_sorted(KEYS)[
        utf8_sorted(KEYS).index("a/b/4") + 1 :
    ][:2]
    assert page["IsTruncated"] is True and page["KeyCount"] == 2
    empty = s3.list_objects_v2(Bucket=filled, MaxKeys=0)
    assert empty["KeyCount"] == 0 and "Contents" not in empty


def test_fetch_owner(s3: Any, filled: str) -> None:
    page = s3.list_objects_v2(Bucket=filled, FetchOwner=True, MaxKeys=1)
    assert page["Contents"][0]["Owner"] == {"ID": canonical_id("root"), "DisplayName": "root"}
    page = s3.list_objects_v2(Bucket=filled, MaxKeys=1)
    assert "Owner" not in page["Contents"][0]


def test_encoding_type_url(s3: Any, bucket: str) -> None:
    # boto3 asks for url encoding by default and decodes; the control character proves it.
    key = "ctl\x01char"
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    assert [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]] == [key]
