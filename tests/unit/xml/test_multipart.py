"""gateway.xml for the multipart and GetObjectAttributes documents.

As tests/unit/xml/test_codec.py: one (model, XML) table renders every document and parses
the request bodies back; botocore's own parser reads every answer, which proves clients
understand what we send.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import pytest
from lxml import etree

from gateway.errors import S3Error, S3ErrorCode
from gateway.xml.codec import S3_NS, parse, render
from gateway.xml.models import (
    CompletedPart,
    CompleteMultipartUpload,
    CompleteMultipartUploadResult,
    CopyPartResult,
    GetObjectAttributesResponse,
    InitiateMultipartUploadResult,
    ListMultipartUploadsResult,
    ListPartsResult,
    ObjectPartEntry,
    ObjectParts,
    Owner,
    PartEntry,
    UploadEntry,
)
from tests.support.botocore_xml import botocore_parse

T0 = 1_138_985_109.0
T0_ISO = "2006-02-03T16:45:09.000Z"
NS = f'xmlns="{S3_NS}"'
ALICE = Owner("alice", "alice")
E1 = "9b2cf535f27731c974343645a3985328"
E2 = "0cc175b9c0f1b6a831c399e269772661"
UID = "0005f2a1b2c3d4e5aabbccddeeff00112233445566778899"


def _canonical(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml, parser), method="c14n")


CASES: list[tuple[object, bytes]] = [
    (
        InitiateMultipartUploadResult("bkt", "a b/c.txt", UID),
        f"""<InitiateMultipartUploadResult {NS}>
          <Bucket>bkt</Bucket><Key>a b/c.txt</Key><UploadId>{UID}</UploadId>
        </InitiateMultipartUploadResult>""".encode(),
    ),
    (
        CompleteMultipartUpload(
            (CompletedPart(1, E1, {"CRC32": "y/Q5Jg=="}), CompletedPart(2, E2))
        ),
        f"""<CompleteMultipartUpload {NS}>
          <Part><PartNumber>1</PartNumber><ETag>"{E1}"</ETag>
                <ChecksumCRC32>y/Q5Jg==</ChecksumCRC32></Part>
          <Part><PartNumber>2</PartNumber><ETag>"{E2}"</ETag></Part>
        </CompleteMultipartUpload>""".encode(),
    ),
    (
        CompleteMultipartUploadResult(
            "http://h/bkt/k", "bkt", "k", f"{E1}-2", {"CRC32": "AAAAAA==-2"}, "COMPOSITE"
        ),
        f"""<CompleteMultipartUploadResult {NS}>
          <Location>http://h/bkt/k</Location><Bucket>bkt</Bucket><Key>k</Key>
          <ETag>"{E1}-2"</ETag><ChecksumCRC32>AAAAAA==-2</ChecksumCRC32>
          <ChecksumType>COMPOSITE</ChecksumType>
        </CompleteMultipartUploadResult>""".encode(),
    ),
    (
        CompleteMultipartUploadResult("http://h/bkt/k", "bkt", "k", f"{E1}-1"),
        f"""<CompleteMultipartUploadResult {NS}>
          <Location>http://h/bkt/k</Location><Bucket>bkt</Bucket><Key>k</Key>
          <ETag>"{E1}-1"</ETag>
        </CompleteMultipartUploadResult>""".encode(),
    ),
    (
        CopyPartResult(E1, T0, {"SHA256": "x"}),
        f"""<CopyPartResult {NS}>
          <LastModified>{T0_ISO}</LastModified><ETag>"{E1}"</ETag>
          <ChecksumSHA256>x</ChecksumSHA256>
        </CopyPartResult>""".encode(),
    ),
    (
        ListPartsResult(
            bucket="bkt",
            key="k",
            upload_id=UID,
            part_number_marker=0,
            next_part_number_marker=2,
            max_parts=2,
            is_truncated=True,
            parts=(PartEntry(1, T0, E1, 5242880, {"CRC32": "y/Q5Jg=="}), PartEntry(2, T0, E2, 3)),
            initiator=ALICE,
            owner=ALICE,
            checksum_algorithm="CRC32",
            checksum_type="COMPOSITE",
        ),
        f"""<ListPartsResult {NS}>
          <Bucket>bkt</Bucket><Key>k</Key><UploadId>{UID}</UploadId>
          <PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker>
          <MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>
          <Part><PartNumber>1</PartNumber><LastModified>{T0_ISO}</LastModified>
            <ETag>"{E1}"</ETag><Size>5242880</Size><ChecksumCRC32>y/Q5Jg==</ChecksumCRC32></Part>
          <Part><PartNumber>2</PartNumber><LastModified>{T0_ISO}</LastModified>
            <ETag>"{E2}"</ETag><Size>3</Size></Part>
          <Initiator><ID>alice</ID><DisplayName>alice</DisplayName></Initiator>
          <Owner><ID>alice</ID><DisplayName>alice</DisplayName></Owner>
          <StorageClass>STANDARD</StorageClass>
          <ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType>
        </ListPartsResult>""".encode(),
    ),
    (
        ListMultipartUploadsResult(
            bucket="bkt",
            key_marker="",
            upload_id_marker="",
            next_key_marker="a/b",
            next_upload_id_marker=UID,
            prefix="",
            delimiter="/",
            max_uploads=2,
            is_truncated=True,
            uploads=(UploadEntry("a/b", UID, ALICE, ALICE, T0, checksum_algorithm="SHA1"),),
            common_prefixes=("c/",),
        ),
        f"""<ListMultipartUploadsResult {NS}>
          <Bucket>bkt</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
          <NextKeyMarker>a/b</NextKeyMarker><NextUploadIdMarker>{UID}</NextUploadIdMarker>
          <Prefix></Prefix><Delimiter>/</Delimiter><MaxUploads>2</MaxUploads>
          <IsTruncated>true</IsTruncated>
          <Upload><Key>a/b</Key><UploadId>{UID}</UploadId>
            <Initiator><ID>alice</ID><DisplayName>alice</DisplayName></Initiator>
            <Owner><ID>alice</ID><DisplayName>alice</DisplayName></Owner>
            <StorageClass>STANDARD</StorageClass><Initiated>{T0_ISO}</Initiated>
            <ChecksumAlgorithm>SHA1</ChecksumAlgorithm></Upload>
          <CommonPrefixes><Prefix>c/</Prefix></CommonPrefixes>
        </ListMultipartUploadsResult>""".encode(),
    ),
    (
        GetObjectAttributesResponse(
            etag=f"{E1}-2",
            checksums={"CRC32": "AAAAAA==-2"},
            checksum_type="COMPOSITE",
            object_parts=ObjectParts(
                parts_count=2,
                part_number_marker=0,
                next_part_number_marker=1,
                max_parts=1,
                is_truncated=True,
                parts=(ObjectPartEntry(1, 5242880, {"CRC32": "y/Q5Jg=="}),),
            ),
            storage_class="STANDARD",
            object_size=5242883,
        ),
        f"""<GetObjectAttributesResponse {NS}>
          <ETag>{E1}-2</ETag>
          <Checksum><ChecksumCRC32>AAAAAA==-2</ChecksumCRC32>
            <ChecksumType>COMPOSITE</ChecksumType></Checksum>
          <ObjectParts><PartsCount>2</PartsCount><PartNumberMarker>0</PartNumberMarker>
            <NextPartNumberMarker>1</NextPartNumberMarker><MaxParts>1</MaxParts>
            <IsTruncated>true</IsTruncated>
            <Part><PartNumber>1</PartNumber><Size>5242880</Size>
              <ChecksumCRC32>y/Q5Jg==</ChecksumCRC32></Part>
          </ObjectParts>
          <StorageClass>STANDARD</StorageClass><ObjectSize>5242883</ObjectSize>
        </GetObjectAttributesResponse>""".encode(),
    ),
    (
        GetObjectAttributesResponse(object_size=0),
        f"<GetObjectAttributesResponse {NS}><ObjectSize>0</ObjectSize>"
        "</GetObjectAttributesResponse>".encode(),
    ),
]


@pytest.mark.parametrize(("model", "xml"), CASES, ids=[type(m).__name__ for m, _ in CASES])
def test_render(model: object, xml: bytes) -> None:
    assert _canonical(render(model)) == _canonical(xml)


ROUND_TRIP = [(m, x) for m, x in CASES if isinstance(m, CompleteMultipartUpload)]


@pytest.mark.parametrize(("model", "xml"), ROUND_TRIP)
def test_parse(model: object, xml: bytes) -> None:
    assert parse(type(model), xml) == model
    assert parse(type(model), render(model)) == model


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (  # bare ETags, no namespace, whitespace
            b"<CompleteMultipartUpload><Part><ETag> abc </ETag><PartNumber> 3 </PartNumber>"
            b"</Part></CompleteMultipartUpload>",
            (CompletedPart(3, "abc"),),
        ),
        (  # HTML-escaped quotes, as some SDKs send them; unknown elements ignored
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
            b"<ETag>&quot;abc&quot;</ETag><ChecksumSHA512>x</ChecksumSHA512></Part>"
            b"</CompleteMultipartUpload>",
            (CompletedPart(1, "abc"),),
        ),
    ],
)
def test_parse_complete_variants(xml: bytes, expected: tuple[CompletedPart, ...]) -> None:
    assert parse(CompleteMultipartUpload, xml).parts == expected


@pytest.mark.parametrize(
    "xml",
    [
        b"",
        b"<CompleteMultipartUpload/>",  # no part
        b"<CompleteMultipartUpload></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><ETag>a</ETag></Part></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>a</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>a</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>",
        b"<Delete><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part></Delete>",
        b"not xml",
    ],
)
def test_parse_complete_malformed(xml: bytes) -> None:
    with pytest.raises(S3Error) as info:
        parse(CompleteMultipartUpload, xml)
    assert info.value.code is S3ErrorCode.MALFORMED_XML


# -- botocore reads what we render ------------------------------------------------------------


def _model(cls: type[Any]) -> Any:
    return next(m for m, _ in CASES if isinstance(m, cls))


def test_botocore_create_multipart_upload() -> None:
    parsed = botocore_parse("CreateMultipartUpload", render(_model(InitiateMultipartUploadResult)))
    assert parsed == {"Bucket": "bkt", "Key": "a b/c.txt", "UploadId": UID}


def test_botocore_complete_multipart_upload() -> None:
    parsed = botocore_parse("CompleteMultipartUpload", render(CASES[2][0]))
    assert parsed == {
        "Location": "http://h/bkt/k",
        "Bucket": "bkt",
        "Key": "k",
        "ETag": f'"{E1}-2"',
        "ChecksumCRC32": "AAAAAA==-2",
        "ChecksumType": "COMPOSITE",
    }


def test_botocore_upload_part_copy() -> None:
    parsed = botocore_parse("UploadPartCopy", render(_model(CopyPartResult)))
    assert parsed["CopyPartResult"] == {
        "ETag": f'"{E1}"',
        "LastModified": datetime.fromtimestamp(T0, UTC),
        "ChecksumSHA256": "x",
    }


def test_botocore_list_parts() -> None:
    parsed = botocore_parse("ListParts", render(_model(ListPartsResult)))
    assert parsed["Parts"][0] == {
        "PartNumber": 1,
        "LastModified": datetime.fromtimestamp(T0, UTC),
        "ETag": f'"{E1}"',
        "Size": 5242880,
        "ChecksumCRC32": "y/Q5Jg==",
    }
    assert [p["PartNumber"] for p in parsed["Parts"]] == [1, 2]
    assert (parsed["PartNumberMarker"], parsed["NextPartNumberMarker"]) == (0, 2)
    assert (parsed["MaxParts"], parsed["IsTruncated"]) == (2, True)
    assert parsed["Initiator"] == parsed["Owner"] == {"ID": "alice", "DisplayName": "alice"}
    assert (parsed["ChecksumAlgorithm"], parsed["ChecksumType"]) == ("CRC32", "COMPOSITE")
    assert parsed["UploadId"] == UID


@pytest.mark.parametrize("encoding_type", [None, "url"])
def test_botocore_list_multipart_uploads(encoding_type: str | None) -> None:
    key = "d\u00e9j\u00e0 vu/a+b&c"
    model = ListMultipartUploadsResult(
        bucket="bkt",
        key_marker="k m",
        upload_id_marker="u0",
        next_key_marker=key,
        next_upload_id_marker=UID,
        prefix="",
        delimiter="/",
        max_uploads=2,
        is_truncated=True,
        uploads=(UploadEntry(key, UID, ALICE, ALICE, T0, "GLACIER", "CRC32", "COMPOSITE"),),
        common_prefixes=("p q/",),
        encoding_type=encoding_type,
    )
    parsed = botocore_parse("ListMultipartUploads", render(model))
    if encoding_type == "url":  # botocore leaves decoding ListMultipartUploads to the caller
        assert unquote_plus(parsed["Uploads"][0]["Key"]) == key
        assert unquote_plus(parsed["NextKeyMarker"]) == key
    else:
        assert parsed["Uploads"][0]["Key"] == key
        assert parsed["NextKeyMarker"] == key
    upload = parsed["Uploads"][0]
    assert upload["UploadId"] == UID
    assert upload["Initiated"] == datetime.fromtimestamp(T0, UTC)
    assert upload["StorageClass"] == "GLACIER"
    assert (upload["ChecksumAlgorithm"], upload["ChecksumType"]) == ("CRC32", "COMPOSITE")
    assert upload["Owner"] == upload["Initiator"] == {"ID": "alice", "DisplayName": "alice"}
    assert [unquote_plus(p["Prefix"]) for p in parsed["CommonPrefixes"]] == ["p q/"]
    assert parsed["NextUploadIdMarker"] == UID
    assert (parsed["IsTruncated"], parsed["MaxUploads"]) == (True, 2)
    assert parsed["KeyMarker"] == ("k+m" if encoding_type else "k m")
    assert parsed["UploadIdMarker"] == "u0"


def test_botocore_get_object_attributes() -> None:
    parsed = botocore_parse("GetObjectAttributes", render(_model(GetObjectAttributesResponse)))
    assert parsed == {
        "ETag": f"{E1}-2",
        "Checksum": {"ChecksumCRC32": "AAAAAA==-2", "ChecksumType": "COMPOSITE"},
        "ObjectParts": {
            "TotalPartsCount": 2,
            "PartNumberMarker": 0,
            "NextPartNumberMarker": 1,
            "MaxParts": 1,
            "IsTruncated": True,
            "Parts": [{"PartNumber": 1, "Size": 5242880, "ChecksumCRC32": "y/Q5Jg=="}],
        },
        "StorageClass": "STANDARD",
        "ObjectSize": 5242883,
    }
