"""gateway.xml.listing: the listing documents written as text read back, through lxml and
botocore, as exactly the keys, prefixes and markers they were given (escaping, CR,
characters XML cannot carry, encoding-type=url), with ListObjectVersions written alike."""

from __future__ import annotations

import random
from urllib.parse import quote_plus

import pytest
from botocore import handlers
from lxml import etree

from gateway.xml.codec import render
from gateway.xml.listing import escape, url_encode
from gateway.xml.models import ListBucketResult, ListBucketV2Result, ListEntry, Owner
from gateway.xml.versioning import ListVersionsResult, VersionEntry
from tests.support.botocore_xml import botocore_parse

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
T0 = 1_138_985_109.0
OWNER = Owner("c0ffee", "alice & <bob>")

# (text, what a client reads back without encoding-type)
TEXTS = [
    ("plain/key.txt", "plain/key.txt"),
    ("a&b<c>d\"e'f", "a&b<c>d\"e'f"),
    ("cr\rlf\ntab\t", "cr\rlf\ntab\t"),  # CR survives as &#13;
    ("caf\u00e9 \u263a \U0001f600", "caf\u00e9 \u263a \U0001f600"),
    ("ctl\x01\x1f\ufffe.", "ctl\ufffd\ufffd\ufffd."),  # not XML 1.0 characters
    ("", ""),
]


@pytest.mark.parametrize(("text", "read_back"), TEXTS)
def test_escape_reads_back(text: str, read_back: str) -> None:
    doc = f"<a>{escape(text)}</a>".encode()
    assert (etree.fromstring(doc).text or "") == read_back


def test_escape_matches_lxml() -> None:
    for text, _ in TEXTS[:4]:
        el = etree.Element("a")
        el.text = text
        assert f"<a>{escape(text)}</a>".encode() == etree.tostring(el, encoding="UTF-8")


def _random_key(rng: random.Random) -> str:
    alphabet = "ab/ +%~&<>\r\n\t\x01\u00e9\u263a\U0001f600*-_.()"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12)))


KEYS = sorted({_random_key(random.Random(seed)) for seed in range(200)})


def _readable(key: str) -> str:
    return key.replace("\x01", "\ufffd")


@pytest.mark.parametrize("encoding_type", [None, "url"])
def test_list_objects_v2_keys_read_back(encoding_type: str | None) -> None:
    model = ListBucketV2Result(
        name="bkt",
        prefix="p&<",
        delimiter="/",
        max_keys=1000,
        is_truncated=True,
        contents=tuple(ListEntry(k, T0 + i, "e-2", i) for i, k in enumerate(KEYS)),
        common_prefixes=("d\r/", "x&y/"),
        key_count=len(KEYS) + 2,
        continuation_token="tok",
        next_continuation_token="next",
        start_after="s<a>",
        encoding_type=encoding_type,
    )
    parsed = botocore_parse("ListObjectsV2", render(model))
    handlers.decode_list_object_v2(parsed, context={"encoding_type_auto_set": True})
    want = KEYS if encoding_type else [_readable(k) for k in KEYS]
    assert [c["Key"] for c in parsed["Contents"]] == want
    assert [c["Size"] for c in parsed["Contents"]] == list(range(len(KEYS)))
    assert {c["ETag"] for c in parsed["Contents"]} == {'"e-2"'}
    assert parsed["CommonPrefixes"] == [{"Prefix": "d\r/"}, {"Prefix": "x&y/"}]
    assert (parsed["Prefix"], parsed["StartAfter"]) == ("p&<", "s<a>")
    assert (parsed["ContinuationToken"], parsed["NextContinuationToken"]) == ("tok", "next")


def test_list_objects_v1_document() -> None:
    model = ListBucketResult(
        name="bkt",
        prefix="",
        delimiter="/",
        max_keys=2,
        is_truncated=True,
        contents=(ListEntry("a&b", T0, "e", 1, owner=OWNER, checksum_algorithm="CRC32"),),
        common_prefixes=("c/",),
        marker="<m>",
        next_marker="c/",
    )
    root = etree.fromstring(render(model))
    assert [el.tag.removeprefix(NS) for el in root] == [
        "Name",
        "Prefix",
        "Marker",
        "NextMarker",
        "MaxKeys",
        "Delimiter",
        "IsTruncated",
        "Contents",
        "CommonPrefixes",
    ]
    entry = root.find(f"{NS}Contents")
    assert entry is not None
    assert [(el.tag.removeprefix(NS), el.text) for el in entry.iter() if el is not entry] == [
        ("Key", "a&b"),
        ("LastModified", "2006-02-03T16:45:09.000Z"),
        ("ETag", '"e"'),
        ("ChecksumAlgorithm", "CRC32"),
        ("Size", "1"),
        ("Owner", None),
        ("ID", "c0ffee"),
        ("DisplayName", "alice & <bob>"),
        ("StorageClass", "STANDARD"),
    ]
    assert root.findtext(f"{NS}Marker") == "<m>"


@pytest.mark.parametrize("encoding_type", [None, "url"])
def test_list_object_versions_keys_read_back(encoding_type: str | None) -> None:
    entries = []
    for i, k in enumerate(KEYS):
        entries.append(VersionEntry(k, f"v{i}&", True, T0, etag="e", size=i, owner=OWNER))
        entries.append(VersionEntry(k, "null", False, T0, is_delete_marker=True, owner=OWNER))
    model = ListVersionsResult(
        "bkt", "", "k<", "v1", 1000, False, tuple(entries), ("d&/",), "/",
        next_key_marker="n>", encoding_type=encoding_type,
    )  # fmt: skip
    parsed = botocore_parse("ListObjectVersions", render(model))
    handlers.decode_list_object_versions(parsed, context={"encoding_type_auto_set": True})
    want = KEYS if encoding_type else [_readable(k) for k in KEYS]
    assert [v["Key"] for v in parsed["Versions"]] == want
    assert [v["VersionId"] for v in parsed["Versions"]] == [f"v{i}&" for i in range(len(KEYS))]
    assert [m["Key"] for m in parsed["DeleteMarkers"]] == want
    assert parsed["Versions"][0]["Owner"] == {"ID": "c0ffee", "DisplayName": "alice & <bob>"}
    assert (parsed["KeyMarker"], parsed["NextKeyMarker"]) == ("k<", "n>")
    assert parsed["CommonPrefixes"] == [{"Prefix": "d&/"}]


def test_url_encode_fast_path_agrees() -> None:
    for value in ["plain/a-b_c.d*", "", *KEYS]:
        assert url_encode(value) == quote_plus(value, safe="/*").replace("~", "%7E")
