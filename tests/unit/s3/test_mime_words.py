"""RFC 2047 user metadata values, as S3 decodes them on the way in and encodes them out."""

from __future__ import annotations

import pytest

from gateway.s3.headers import user_metadata
from gateway.s3.mime_words import decode_value, encode_value


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("plain value", "plain value"),
        ("caf\u00e9 \u65e5\u672c", "caf\u00e9 \u65e5\u672c"),  # raw UTF-8 on the wire
        ("=?UTF-8?B?Y2Fmw6k=?=", "caf\u00e9"),
        ("=?utf-8?q?caf=C3=A9_au_lait?=", "caf\u00e9 au lait"),
        ("=?ISO-8859-1?Q?caf=E9?=", "caf\u00e9"),
        ("=?UTF-8?B?aGVsbG8=?=", "hello"),
        ("a =?x?", "a =?x?"),  # not an encoded-word
        ("=?nosuchcharset?B?aGVsbG8=?=", "=?nosuchcharset?B?aGVsbG8=?="),
    ],
)
def test_decode_value(sent: str, stored: str) -> None:
    assert decode_value(sent) == stored


@pytest.mark.parametrize(
    ("stored", "returned"),
    [
        ("plain value", "plain value"),
        ("", ""),
        ("caf\u00e9", "=?UTF-8?B?Y2Fmw6k=?="),
        ("\u263a \u00e9", "=?UTF-8?B?4pi6IMOp?="),
        ("bad \udcff byte", "=?UTF-8?B?YmFkIP8gYnl0ZQ==?="),  # an undecodable byte, kept
    ],
)
def test_encode_value(stored: str, returned: str) -> None:
    assert encode_value(stored) == returned
    assert encode_value(stored).isascii()


def test_user_metadata_decodes_encoded_words() -> None:
    headers = {"x-amz-meta-name": "=?UTF-8?B?Y2Fmw6k=?=", "x-amz-meta-raw": "\u00e9t\u00e9"}
    assert user_metadata(headers) == {"name": "caf\u00e9", "raw": "\u00e9t\u00e9"}
