"""gateway.s3.headers: tables of inputs and outputs."""

from __future__ import annotations

import email.utils
import math
import random

import pytest

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.headers import (
    content_headers,
    http_date,
    iso8601,
    parse_copy_source,
    parse_copy_source_range,
    parse_http_date,
    parse_range,
    quote_etag,
    response_overrides,
    user_metadata,
)

# -- dates ----------------------------------------------------------------------------------

T0 = 1_138_985_109.0  # 2006-02-03T16:45:09Z, the S3 documentation's favourite moment


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (T0, "2006-02-03T16:45:09.000Z"),
        (T0 + 0.5, "2006-02-03T16:45:09.500Z"),
        (T0 + 0.001, "2006-02-03T16:45:09.001Z"),
        (T0 + 0.9999, "2006-02-03T16:45:09.999Z"),  # floored, never rolls into :10
        (0.0, "1970-01-01T00:00:00.000Z"),
    ],
)
def test_iso8601(ts: float, expected: str) -> None:
    assert iso8601(ts) == expected


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (784111777.0, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (784111777.999, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (T0, "Fri, 03 Feb 2006 16:45:09 GMT"),
    ],
)
def test_http_date(ts: float, expected: str) -> None:
    assert http_date(ts) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784111777.0),  # IMF-fixdate
        ("Sunday, 06-Nov-94 08:49:37 GMT", 784111777.0),  # RFC 850
        ("Sun Nov  6 08:49:37 1994", 784111777.0),  # asctime, no zone: GMT
        ("  Sun, 06 Nov 1994 08:49:37 GMT  ", 784111777.0),
        ("Sun, 06 Nov 1994 09:49:37 +0100", 784111777.0),
        ("garbage", None),
        ("", None),
        ("2006-02-03T16:45:09.000Z", None),
    ],
)
def test_parse_http_date(value: str, expected: float | None) -> None:
    assert parse_http_date(value) == expected


def test_http_date_is_email_utils_formatdate() -> None:
    rng = random.Random(17)
    for ts in [0.0, 86399.5, 951782400.0, *(rng.uniform(0, 4e9) for _ in range(2000))]:
        assert http_date(ts) == email.utils.formatdate(math.floor(ts), usegmt=True), ts


def test_http_date_round_trip() -> None:
    assert parse_http_date(http_date(T0)) == T0


def test_quote_etag() -> None:
    assert quote_etag("abc-2") == '"abc-2"'


# -- Range ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-0", 10, (0, 1)),
        ("bytes=0-9", 10, (0, 10)),
        ("bytes=2-5", 10, (2, 6)),
        ("bytes=5-100", 10, (5, 10)),  # end clipped to size - 1
        ("bytes=9-", 10, (9, 10)),
        ("bytes=0-", 10, (0, 10)),
        ("bytes=-3", 10, (7, 10)),
        ("bytes=-10", 10, (0, 10)),
        ("bytes=-11", 10, (0, 10)),  # suffix longer than the object: all of it
        ("BYTES=1-2", 10, (1, 3)),
        (" bytes=1-2 ", 10, (1, 3)),
        # invalid syntax or unsupported forms: ignored, the whole object is served
        ("bytes=5-2", 10, None),
        ("bytes=1-2,4-5", 10, None),
        ("bytes=-", 10, None),
        ("bytes=a-b", 10, None),
        ("bytes 1-2", 10, None),
        ("items=1-2", 10, None),
        ("bytes=1-2-3", 10, None),
        ("bytes=+1-2", 10, None),
        ("bytes=\u0661-2", 10, None),  # Arabic-Indic digit one
        ("", 10, None),
        ("bytes=5-2", 0, None),
        ("bytes=" + "9" * 5000 + "-", 10, None),
    ],
)
def test_parse_range(value: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(value, size) == expected


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("bytes=10-", 10),
        ("bytes=10-20", 10),
        ("bytes=-0", 10),
        ("bytes=0-0", 0),
        ("bytes=0-", 0),
        ("bytes=-5", 0),
    ],
)
def test_parse_range_unsatisfiable(value: str, size: int) -> None:
    with pytest.raises(S3Error) as info:
        parse_range(value, size)
    assert info.value.code is S3ErrorCode.INVALID_RANGE
    assert info.value.fields == {"RangeRequested": value, "ActualObjectSize": str(size)}


@pytest.mark.parametrize(
    ("value", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-0", 10, (0, 1)),
        ("bytes=0-9", 10, (0, 10)),
        ("bytes=3-7", 10, (3, 8)),
    ],
)
def test_parse_copy_source_range(
    value: str | None, size: int, expected: tuple[int, int] | None
) -> None:
    assert parse_copy_source_range(value, size) == expected


@pytest.mark.parametrize(
    ("value", "size", "message"),
    [
        ("bytes=0-", 10, "must be of the form bytes=first-last"),
        ("bytes=-5", 10, "must be of the form bytes=first-last"),
        ("0-5", 10, "must be of the form bytes=first-last"),
        ("bytes=5-2", 10, "must be of the form bytes=first-last"),
        ("bytes=0-2,3-5", 10, "must be of the form bytes=first-last"),
        ("bytes=0-" + "9" * 5000, 10, "must be of the form bytes=first-last"),
        ("bytes=0-10", 10, "not valid for source object of size: 10"),
        ("bytes=10-12", 10, "not valid for source object of size: 10"),
        ("bytes=0-0", 0, "not valid for source object of size: 0"),
    ],
)
def test_parse_copy_source_range_invalid(value: str, size: int, message: str) -> None:
    with pytest.raises(S3Error) as info:
        parse_copy_source_range(value, size)
    # Malformed: InvalidArgument; beyond the source: 400 InvalidRange.
    unsatisfiable = "not valid for source" in message
    assert info.value.code is (
        S3ErrorCode.INVALID_COPY_SOURCE_RANGE if unsatisfiable else S3ErrorCode.INVALID_ARGUMENT
    )
    assert message in info.value.message
    assert info.value.fields["ArgumentName"] == "x-amz-copy-source-range"


# -- metadata and content headers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, {}),
        ({"x-amz-meta-color": "blue", "content-type": "a/b"}, {"color": "blue"}),
        ({"X-Amz-Meta-Color": "blue"}, {"color": "blue"}),
        ({"x-amz-meta-": "nameless"}, {}),
        ({"x-amz-meta-city": "Zürich"}, {"city": "Zürich"}),
        ({"x-amz-meta-a": "x" * 2047}, {"a": "x" * 2047}),  # exactly 2 KB
    ],
)
def test_user_metadata(headers: dict[str, str], expected: dict[str, str]) -> None:
    assert user_metadata(headers) == expected


def test_user_metadata_repeated_header_joins() -> None:
    from multidict import CIMultiDict, CIMultiDictProxy

    headers = CIMultiDictProxy(CIMultiDict([("X-Amz-Meta-Tag", "a"), ("x-amz-meta-tag", "b")]))
    assert user_metadata(headers) == {"tag": "a,b"}


@pytest.mark.parametrize(
    "headers",
    [
        {"x-amz-meta-a": "x" * 2048},
        {"x-amz-meta-a": "é" * 1024},  # 2048 UTF-8 bytes + the name
        {f"x-amz-meta-k{i}": "v" * 100 for i in range(20)},
    ],
)
def test_user_metadata_too_large(headers: dict[str, str]) -> None:
    with pytest.raises(S3Error) as info:
        user_metadata(headers)
    assert info.value.code is S3ErrorCode.METADATA_TOO_LARGE


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, (None, {})),
        (
            {
                "content-type": "text/plain",
                "cache-control": "no-cache",
                "content-disposition": "attachment",
                "content-language": "fr",
                "expires": "Thu, 01 Dec 2094 16:00:00 GMT",
                "x-amz-website-redirect-location": "/other",
                "x-amz-meta-a": "b",
                "content-length": "5",
            },
            (
                "text/plain",
                {
                    "cache-control": "no-cache",
                    "content-disposition": "attachment",
                    "content-language": "fr",
                    "expires": "Thu, 01 Dec 2094 16:00:00 GMT",
                    "x-amz-website-redirect-location": "/other",
                },
            ),
        ),
        ({"content-encoding": "gzip"}, (None, {"content-encoding": "gzip"})),
        ({"content-encoding": "aws-chunked"}, (None, {})),
        ({"content-encoding": "aws-chunked,gzip"}, (None, {"content-encoding": "gzip"})),
        ({"content-encoding": "gzip, AWS-CHUNKED"}, (None, {"content-encoding": "gzip"})),
        # Byte for byte otherwise: no re-joining with other spacing, case kept.
        ({"content-encoding": "gzip,  br"}, (None, {"content-encoding": "gzip,  br"})),
        ({"content-encoding": "GZip ,deflate"}, (None, {"content-encoding": "GZip ,deflate"})),
        (
            {"content-encoding": "aws-chunked, gzip,  br"},
            (None, {"content-encoding": "gzip,  br"}),
        ),
    ],
)
def test_content_headers(
    headers: dict[str, str], expected: tuple[str | None, dict[str, str]]
) -> None:
    assert content_headers(headers) == expected


def test_response_overrides() -> None:
    query = {
        "response-content-type": "text/csv",
        "response-content-language": "de",
        "response-expires": "Thu, 01 Dec 2094 16:00:00 GMT",
        "response-cache-control": "no-store",
        "response-content-disposition": 'attachment; filename="a.csv"',
        "response-content-encoding": "identity",
        "versionId": "v1",
    }
    assert response_overrides(query) == {
        "Content-Type": "text/csv",
        "Content-Language": "de",
        "Expires": "Thu, 01 Dec 2094 16:00:00 GMT",
        "Cache-Control": "no-store",
        "Content-Disposition": 'attachment; filename="a.csv"',
        "Content-Encoding": "identity",
    }
    assert response_overrides({}) == {}


# -- copy source ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bucket/key", ("bucket", "key", None)),
        ("/bucket/key", ("bucket", "key", None)),
        ("bucket/dir/sub/key.txt", ("bucket", "dir/sub/key.txt", None)),
        ("bucket/a%20b%2Bc%3Fd", ("bucket", "a b+c?d", None)),
        ("bucket/a+b", ("bucket", "a+b", None)),  # "+" is not a space in a path
        ("bucket/caf%C3%A9", ("bucket", "café", None)),
        ("bucket/key?versionId=3HL4kqtJlcpXroDTDmJ", ("bucket", "key", "3HL4kqtJlcpXroDTDmJ")),
        ("/bucket/dir%2Fkey?versionId=null", ("bucket", "dir/key", "null")),
        ("bucket//leading-slash", ("bucket", "/leading-slash", None)),
    ],
)
def test_parse_copy_source(value: str, expected: tuple[str, str, str | None]) -> None:
    assert parse_copy_source(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "/", "bucket", "bucket/", "/bucket", "//key", "bucket/%FF", "bucket/k?versionId="],
)
def test_parse_copy_source_invalid(value: str) -> None:
    with pytest.raises(S3Error) as info:
        parse_copy_source(value)
    assert info.value.code is S3ErrorCode.INVALID_ARGUMENT
