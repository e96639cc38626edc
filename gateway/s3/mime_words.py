"""Non-ASCII user metadata values, as S3 stores and returns them (RFC 2047 encoded-words). Pure.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html#UserMetadata:
"Values of such headers are character decoded as per RFC 2047 before storing and encoded
as per RFC 2047 to make them mail-safe before returning. If the string contains only
US-ASCII characters, it is presented as is." So a value sent as raw UTF-8 (or as
encoded-words) is stored as text, and a stored value with any non-ASCII character goes
out as one "=?UTF-8?B?...?=" word, which is what S3 answers and what botocore >= 1.40
decodes back.
"""

from __future__ import annotations

import base64
import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from typing import Final

# An RFC 2047 encoded-word: =?charset?B|Q?text?=
_ENCODED_WORD: Final = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def decode_value(value: str) -> str:
    """A request's x-amz-meta-* value as text: encoded-words decoded, anything else as sent.

    aiohttp hands header bytes over as UTF-8 (undecodable bytes as surrogate escapes,
    which the stored text keeps so they go back out as the same bytes).
    """
    if _ENCODED_WORD.search(value) is None:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        return value  # not decodable after all: keep what the client sent


def encode_value(value: str) -> str:
    """A stored value for a response header: ASCII as is, anything else one B-encoded word."""
    if value.isascii():
        return value
    raw = value.encode("utf-8", "surrogateescape")
    return f"=?UTF-8?B?{base64.b64encode(raw).decode('ascii')}?="
