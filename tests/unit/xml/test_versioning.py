"""gateway.xml.versioning: the (model, XML) table for versioning configurations, malformed
bodies, and botocore reading ListObjectVersions as we render it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from lxml import etree

from gateway.errors import S3Error, S3ErrorCode
from gateway.xml.codec import S3_NS, parse, render
from gateway.xml.models import Owner
from gateway.xml.versioning import ListVersionsResult, VersionEntry, VersioningConfiguration
from tests.support.botocore_xml import botocore_parse

NS = f'xmlns="{S3_NS}"'
T0 = 1_138_985_109.0
T0_ISO = "2006-02-03T16:45:09.000Z"
OWNER = Owner("alice", "alice")


def _canonical(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml, parser), method="c14n")


# Request bodies: render and parse both ways.
CASES: list[tuple[object, bytes]] = [
    (
        VersioningConfiguration("Enabled"),
        f"<VersioningConfiguration {NS}><Status>Enabled</Status>"
        "</VersioningConfiguration>".encode(),
    ),
    (
        VersioningConfiguration("Suspended", "Disabled"),
        f"<VersioningConfiguration {NS}><Status>Suspended</Status>"
        "<MfaDelete>Disabled</MfaDelete></VersioningConfiguration>".encode(),
    ),
    (VersioningConfiguration(), f"<VersioningConfiguration {NS}/>".encode()),
]

MALFORMED: list[tuple[type[Any], bytes]] = [
    (
        VersioningConfiguration,
        b"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>",
    ),
    (
        VersioningConfiguration,
        b"<VersioningConfiguration><MfaDelete>x</MfaDelete></VersioningConfiguration>",
    ),
    (VersioningConfiguration, b"<Versioning/>"),
]


@pytest.mark.parametrize(("model", "xml"), CASES)
def test_render(model: object, xml: bytes) -> None:
    assert _canonical(render(model)) == _canonical(xml)


@pytest.mark.parametrize(("model", "xml"), CASES)
def test_parse(model: object, xml: bytes) -> None:
    assert parse(type(model), xml) == model


@pytest.mark.parametrize(("cls", "xml"), MALFORMED)
def test_parse_malformed(cls: type[Any], xml: bytes) -> None:
    with pytest.raises(S3Error) as err:
        parse(cls, xml)
    assert err.value.code is S3ErrorCode.MALFORMED_XML


# -- ListObjectVersions -----------------------------------------------------------------------

VERSIONS = ListVersionsResult(
    name="bkt",
    prefix="p/",
    key_marker="p/a",
    version_id_marker="v0",
    max_keys=3,
    is_truncated=True,
    entries=(
        VersionEntry("p/a b", "v2", True, T0, etag="e2", size=5, owner=OWNER),
        VersionEntry("p/a b", "v1", False, T0, is_delete_marker=True, owner=OWNER),
        VersionEntry("p/a b", "null", False, T0, etag="e0", size=0, checksum_algorithm="CRC32"),
    ),
    common_prefixes=("p/d/",),
    delimiter="/",
    next_key_marker="p/a b",
    next_version_id_marker="null",
)


def test_render_list_versions() -> None:
    expected = f"""
    <ListVersionsResult {NS}>
      <Name>bkt</Name><Prefix>p/</Prefix><KeyMarker>p/a</KeyMarker>
      <VersionIdMarker>v0</VersionIdMarker><NextKeyMarker>p/a b</NextKeyMarker>
      <NextVersionIdMarker>null</NextVersionIdMarker><MaxKeys>3</MaxKeys>
      <Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
      <Version><Key>p/a b</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest>
        <LastModified>{T0_ISO}</LastModified><ETag>"e2"</ETag><Size>5</Size>
        <StorageClass>STANDARD</StorageClass>
        <Owner><ID>alice</ID><DisplayName>alice</DisplayName></Owner></Version>
      <DeleteMarker><Key>p/a b</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest>
        <LastModified>{T0_ISO}</LastModified>
        <Owner><ID>alice</ID><DisplayName>alice</DisplayName></Owner></DeleteMarker>
      <Version><Key>p/a b</Key><VersionId>null</VersionId><IsLatest>false</IsLatest>
        <LastModified>{T0_ISO}</LastModified><ETag>"e0"</ETag>
        <ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>0</Size>
        <StorageClass>STANDARD</StorageClass></Version>
      <CommonPrefixes><Prefix>p/d/</Prefix></CommonPrefixes>
    </ListVersionsResult>""".encode()
    assert _canonical(render(VERSIONS)) == _canonical(expected)


def test_botocore_list_object_versions() -> None:
    parsed = botocore_parse("ListObjectVersions", render(VERSIONS))
    at = datetime.fromtimestamp(T0, UTC)
    assert parsed["IsTruncated"] is True
    assert (parsed["NextKeyMarker"], parsed["NextVersionIdMarker"]) == ("p/a b", "null")
    assert [(v["VersionId"], v["IsLatest"], v["Size"]) for v in parsed["Versions"]] == [
        ("v2", True, 5),
        ("null", False, 0),
    ]
    assert parsed["Versions"][0]["ETag"] == '"e2"'
    assert parsed["Versions"][0]["LastModified"] == at
    assert [(m["VersionId"], m["IsLatest"]) for m in parsed["DeleteMarkers"]] == [("v1", False)]
    assert parsed["CommonPrefixes"] == [{"Prefix": "p/d/"}]


def test_list_versions_url_encoding() -> None:
    model = ListVersionsResult(
        "bkt", "a b", "", "", 1000, False, (VersionEntry("a b/c", "v", True, T0),), (), "/"
    )
    xml = render(ListVersionsResult(**{**model.__dict__, "encoding_type": "url"}))
    assert b"<Key>a+b/c</Key>" in xml and b"<Prefix>a+b</Prefix>" in xml
    assert b"<EncodingType>url</EncodingType>" in xml
