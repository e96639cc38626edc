"""Tag sets: validation and the x-amz-tagging header. Pure.

Limits are S3's (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html):
at most 10 tags per object (50 per bucket), keys of 1 to 128 and values of up to 256
Unicode characters, no two tags with one key, and no key starting with the reserved
"aws:" prefix. Every violation is InvalidTag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from gateway.errors import S3Error, S3ErrorCode

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
RESERVED_PREFIX = "aws:"
# The bucket configuration document holding a bucket's tag set (PutBucketTagging).
TAGGING = "tagging"


@dataclass(frozen=True)
class Tag:
    key: str
    value: str


def _invalid(message: str) -> S3Error:
    return S3Error(S3ErrorCode.INVALID_TAG, message)


def validate_tags(tags: Iterable[Tag], *, limit: int = MAX_OBJECT_TAGS) -> dict[str, str]:
    """The tag set as a map, in the order given; S3Error INVALID_TAG when it breaks a limit."""
    out: dict[str, str] = {}
    for tag in tags:
        if not tag.key:
            raise _invalid("The TagKey you have provided is invalid")
        if len(tag.key) > MAX_KEY_LENGTH:
            raise _invalid(f"The TagKey you have provided is too long, max {MAX_KEY_LENGTH}")
        if len(tag.value) > MAX_VALUE_LENGTH:
            raise _invalid(f"The TagValue you have provided is too long, max {MAX_VALUE_LENGTH}")
        if tag.key.lower().startswith(RESERVED_PREFIX):
            raise _invalid("Your TagKey cannot be prefixed with aws:")
        if tag.key in out:
            raise _invalid("Cannot provide multiple Tags with the same key")
        out[tag.key] = tag.value
    if len(out) > limit:
        noun = "Object" if limit == MAX_OBJECT_TAGS else "Bucket"
        raise _invalid(f"{noun} tags cannot be greater than {limit}")
    return out


def parse_tagging_header(value: str) -> dict[str, str]:
    """x-amz-tagging: URL query encoded "k1=v1&k2=v2" (PutObject, CopyObject, Create-
    MultipartUpload). A key without "=" has the empty value."""
    pairs = parse_qsl(value, keep_blank_values=True)
    return validate_tags(Tag(k, v) for k, v in pairs)


def tagging_header(tags: Mapping[str, str]) -> str:
    """The x-amz-tagging form of a tag set (the inverse of parse_tagging_header)."""
    return urlencode(list(tags.items()))


def as_tags(tags: Mapping[str, str]) -> tuple[Tag, ...]:
    return tuple(Tag(k, v) for k, v in tags.items())
