"""ListObjects (v1) and ListObjectsV2 documents written straight to bytes, and the text
helpers every listing writer uses (gateway/xml/versioning.py writes ListObjectVersions
with them).

Why not lxml, as every other document: a page of 1,000 objects is ~9,000 elements, and
building them as an lxml tree took longer than reading the page from the database. A
listing is a flat run of fixed elements, so it is written as text here, with the escaping
lxml would do: `&`, `<` and `>` become entities, and CR becomes `&#13;` (a literal CR would
reach the client as LF after XML line-end normalisation). Characters XML 1.0 cannot carry
(https://www.w3.org/TR/xml/#charsets) become U+FFFD, as gateway.xml.codec does for lxml:
clients that need such keys list with encoding-type=url, which escapes them as %XX.
tests/unit/xml/test_listing.py reads every document back through lxml and botocore.

ListObjects: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html
ListObjectsV2: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
With encoding-type=url, Key, Prefix, Delimiter, Marker, NextMarker and StartAfter are
URL-encoded (ContinuationToken, VersionId and UploadId markers never are).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final
from urllib.parse import quote_plus

from gateway.s3.headers import iso8601
from gateway.xml.models import ListBucketResult, ListBucketV2Result, ListEntry, Owner

S3_NS: Final = "http://s3.amazonaws.com/doc/2006-03-01/"
DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>\n'

# Characters XML 1.0 cannot carry (https://www.w3.org/TR/xml/#charsets).
NON_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Text escape() leaves as it is: XML characters except & < > and CR. Most text is this.
_PLAIN = re.compile("[\t\n\x20-\x25\x27-\x3b\x3d\x3f-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
# What url_encode() leaves alone (checked first: most keys are nothing else).
_URL_SAFE = re.compile(r"[A-Za-z0-9_.\-*/]*")


def escape(text: str) -> str:
    """`text` as XML character data (see the module docstring)."""
    # isalnum() first: ETags and storage classes, twice per listed object, pass it at once.
    if text.isalnum() or _PLAIN.fullmatch(text):
        return text
    text = NON_XML.sub("\ufffd", text)
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def url_encode(value: str) -> str:
    """A key as S3 writes it under encoding-type=url.

    S3 form-encodes (application/x-www-form-urlencoded, as Java's URLEncoder) but leaves
    "/" alone: letters, digits and "-_.*/" stay, a space becomes "+", every other byte of
    the UTF-8 form is %XX. So "a b/c+d~(1).txt" lists as "a+b/c%2Bd%7E%281%29.txt"; SDKs
    decode it with unquote_plus (botocore's handlers.decode_list_object).
    """
    if _URL_SAFE.fullmatch(value):
        return value
    return quote_plus(value, safe="/*").replace("~", "%7E")


def key_writer(encoding_type: str | None) -> Callable[[str], str]:
    """Key (Prefix, Marker...) to element text: URL-encoded (nothing left to escape) or
    escaped."""
    return url_encode if encoding_type == "url" else escape


def element(name: str, text: str) -> str:
    return f"<{name}>{escape(text)}</{name}>"


def boolean(value: bool) -> str:
    return "true" if value else "false"


class OwnerWriter:
    """<Owner> elements, each account's written once per document (its canonical id is a
    SHA-256, and a page's objects mostly share one owner)."""

    def __init__(self) -> None:
        self._written: dict[Owner, str] = {}

    def __call__(self, owner: Owner) -> str:
        text = self._written.get(owner)
        if text is None:
            text = (
                f"<Owner>{element('ID', owner.id)}"
                f"{element('DisplayName', owner.display_name)}</Owner>"
            )
            self._written[owner] = text
        return text


def common_prefixes(prefixes: Iterable[str], encode: Callable[[str], str]) -> str:
    return "".join(
        f"<CommonPrefixes><Prefix>{encode(p)}</Prefix></CommonPrefixes>" for p in prefixes
    )


def document(root: str, parts: Iterable[str]) -> bytes:
    """The whole document: declaration, root element in the S3 namespace, `parts`."""
    body = "".join(parts)
    return b"".join(
        (DECLARATION, f'<{root} xmlns="{S3_NS}">{body}</{root}>'.encode(errors="replace"))
    )


def _contents(entries: Iterable[ListEntry], encode: Callable[[str], str]) -> Iterable[str]:
    owner = OwnerWriter()
    for e in entries:
        checksum = ""
        if e.checksum_algorithm is not None:
            checksum = element("ChecksumAlgorithm", e.checksum_algorithm)
        if e.checksum_type is not None:
            checksum += element("ChecksumType", e.checksum_type)
        yield (
            f"<Contents><Key>{encode(e.key)}</Key>"
            f"<LastModified>{iso8601(e.last_modified)}</LastModified>"
            f'<ETag>"{escape(e.etag)}"</ETag>{checksum}<Size>{e.size}</Size>'
            f"{'' if e.owner is None else owner(e.owner)}"
            f"<StorageClass>{escape(e.storage_class)}</StorageClass></Contents>"
        )


def list_bucket_result(model: ListBucketResult) -> bytes:
    """The ListObjects (v1) document. NextMarker: only with a delimiter on a truncated
    page ("returned only if you have the delimiter request parameter specified")."""
    encode = key_writer(model.encoding_type)
    head = [element("Name", model.name), f"<Prefix>{encode(model.prefix)}</Prefix>"]
    head.append(f"<Marker>{encode(model.marker)}</Marker>")
    if model.delimiter and model.is_truncated and model.next_marker is not None:
        head.append(f"<NextMarker>{encode(model.next_marker)}</NextMarker>")
    head.append(f"<MaxKeys>{model.max_keys}</MaxKeys>")
    if model.delimiter:
        head.append(f"<Delimiter>{encode(model.delimiter)}</Delimiter>")
    head.append(f"<IsTruncated>{boolean(model.is_truncated)}</IsTruncated>")
    if model.encoding_type is not None:
        head.append(element("EncodingType", model.encoding_type))
    return document(
        "ListBucketResult",
        (
            *head,
            *_contents(model.contents, encode),
            common_prefixes(model.common_prefixes, encode),
        ),
    )


def list_bucket_v2_result(model: ListBucketV2Result) -> bytes:
    """The ListObjectsV2 document."""
    encode = key_writer(model.encoding_type)
    head = [element("Name", model.name), f"<Prefix>{encode(model.prefix)}</Prefix>"]
    if model.delimiter:
        head.append(f"<Delimiter>{encode(model.delimiter)}</Delimiter>")
    head.append(f"<MaxKeys>{model.max_keys}</MaxKeys><KeyCount>{model.key_count}</KeyCount>")
    head.append(f"<IsTruncated>{boolean(model.is_truncated)}</IsTruncated>")
    if model.encoding_type is not None:
        head.append(element("EncodingType", model.encoding_type))
    if model.continuation_token is not None:
        head.append(element("ContinuationToken", model.continuation_token))
    if model.next_continuation_token is not None:
        head.append(element("NextContinuationToken", model.next_continuation_token))
    if model.start_after is not None:
        head.append(f"<StartAfter>{encode(model.start_after)}</StartAfter>")
    return document(
        "ListBucketResult",
        (
            *head,
            *_contents(model.contents, encode),
            common_prefixes(model.common_prefixes, encode),
        ),
    )
