"""gateway.xml: hardened parsing, the (model, XML) table, and botocore reading our output.

One table drives both directions (STYLE.md rule 8): every pair renders to its XML, and
pairs whose model is a request body also parse back to the model.
"""

from __future__ import annotations

import types
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore import handlers
from lxml import etree

from gateway.errors import S3Error, S3ErrorCode
from gateway.xml import codec
from gateway.xml.codec import S3_NS, parse, render, url_encode
from gateway.xml.models import (
    MAX_DELETE_OBJECTS,
    BucketEntry,
    CopyObjectResult,
    CreateBucketConfiguration,
    Delete,
    DeletedEntry,
    DeleteErrorEntry,
    DeleteResult,
    ErrorDocument,
    ListAllMyBucketsResult,
    ListBucketResult,
    ListBucketV2Result,
    ListEntry,
    LocationConstraint,
    ObjectIdentifier,
    Owner,
)
from gateway.xml.safe import local_name, parse_document
from tests.support.botocore_xml import botocore_parse

T0 = 1_138_985_109.0  # 2006-02-03T16:45:09Z
T0_ISO = "2006-02-03T16:45:09.000Z"
NS = f'xmlns="{S3_NS}"'
OWNER = Owner("75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", "alice")
ETAG = "9b2cf535f27731c974343645a3985328"


def _canonical(xml: bytes) -> bytes:
    """C14N with whitespace-only text between elements dropped, to compare documents."""
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml, parser), method="c14n")


# -- the table ------------------------------------------------------------------------------

CASES: list[tuple[object, bytes]] = [
    (
        CreateBucketConfiguration("eu-west-1"),
        f"""
        <CreateBucketConfiguration {NS}>
          <LocationConstraint>eu-west-1</LocationConstraint>
        </CreateBucketConfiguration>""".encode(),
    ),
    (CreateBucketConfiguration(None), f"<CreateBucketConfiguration {NS}/>".encode()),
    (  # a conditional delete entry (API_ObjectIdentifier.html)
        Delete((ObjectIdentifier("k", "v-1", '"e"', "Mon, 01 Jan 2024 00:00:00 GMT", "3"),)),
        f"""
        <Delete {NS}>
          <Object><Key>k</Key><VersionId>v-1</VersionId><ETag>"e"</ETag>
            <LastModifiedTime>Mon, 01 Jan 2024 00:00:00 GMT</LastModifiedTime><Size>3</Size>
          </Object>
        </Delete>""".encode(),
    ),
    (
        Delete((ObjectIdentifier("a.txt"), ObjectIdentifier("dir/b & <c>", "v-1")), quiet=True),
        f"""
        <Delete {NS}>
          <Object><Key>a.txt</Key></Object>
          <Object><Key>dir/b &amp; &lt;c&gt;</Key><VersionId>v-1</VersionId></Object>
          <Quiet>true</Quiet>
        </Delete>""".encode(),
    ),
    (
        Delete((ObjectIdentifier(" spaced key "),)),
        f"<Delete {NS}><Object><Key> spaced key </Key></Object></Delete>".encode(),
    ),
    (
        ListAllMyBucketsResult(
            OWNER, (BucketEntry("alpha", T0), BucketEntry("beta", T0 + 1.5, "eu-west-1"))
        ),
        f"""
        <ListAllMyBucketsResult {NS}>
          <Owner><ID>{OWNER.id}</ID><DisplayName>alice</DisplayName></Owner>
          <Buckets>
            <Bucket>
              <Name>alpha</Name><CreationDate>{T0_ISO}</CreationDate>
              <BucketRegion>us-east-1</BucketRegion>
            </Bucket>
            <Bucket>
              <Name>beta</Name><CreationDate>2006-02-03T16:45:10.500Z</CreationDate>
              <BucketRegion>eu-west-1</BucketRegion>
            </Bucket>
          </Buckets>
        </ListAllMyBucketsResult>""".encode(),
    ),
    (
        ListAllMyBucketsResult(OWNER, ()),
        f"""
        <ListAllMyBucketsResult {NS}>
          <Owner><ID>{OWNER.id}</ID><DisplayName>alice</DisplayName></Owner>
          <Buckets/>
        </ListAllMyBucketsResult>""".encode(),
    ),
    (LocationConstraint("us-east-1"), f"<LocationConstraint {NS}/>".encode()),
    (
        LocationConstraint("eu-west-1"),
        f"<LocationConstraint {NS}>eu-west-1</LocationConstraint>".encode(),
    ),
    (
        DeleteResult(
            deleted=(
                DeletedEntry("a.txt"),
                DeletedEntry("b.txt", "v1"),
                DeletedEntry("c.txt", delete_marker=True, delete_marker_version_id="dm1"),
            ),
            errors=(DeleteErrorEntry("d.txt", "AccessDenied", "Access Denied", "v9"),),
        ),
        f"""
        <DeleteResult {NS}>
          <Deleted><Key>a.txt</Key></Deleted>
          <Deleted><Key>b.txt</Key><VersionId>v1</VersionId></Deleted>
          <Deleted>
            <Key>c.txt</Key><DeleteMarker>true</DeleteMarker>
            <DeleteMarkerVersionId>dm1</DeleteMarkerVersionId>
          </Deleted>
          <Error>
            <Key>d.txt</Key><VersionId>v9</VersionId>
            <Code>AccessDenied</Code><Message>Access Denied</Message>
          </Error>
        </DeleteResult>""".encode(),
    ),
    (DeleteResult((), ()), f"<DeleteResult {NS}/>".encode()),
    (
        CopyObjectResult(ETAG, T0 + 0.25, {"CRC32": "y/Q5Jg==", "SHA256": "abc="}),
        f"""
        <CopyObjectResult {NS}>
          <LastModified>2006-02-03T16:45:09.250Z</LastModified>
          <ETag>"{ETAG}"</ETag>
          <ChecksumCRC32>y/Q5Jg==</ChecksumCRC32>
          <ChecksumSHA256>abc=</ChecksumSHA256>
        </CopyObjectResult>""".encode(),
    ),
    (
        ListBucketResult(
            name="bucket",
            prefix="",
            delimiter="",
            max_keys=1000,
            is_truncated=False,
            contents=(ListEntry("a.txt", T0, ETAG, 11),),
            common_prefixes=(),
        ),
        f"""
        <ListBucketResult {NS}>
          <Name>bucket</Name><Prefix/><Marker/><MaxKeys>1000</MaxKeys>
          <IsTruncated>false</IsTruncated>
          <Contents>
            <Key>a.txt</Key><LastModified>{T0_ISO}</LastModified><ETag>"{ETAG}"</ETag>
            <Size>11</Size><StorageClass>STANDARD</StorageClass>
          </Contents>
        </ListBucketResult>""".encode(),
    ),
    (  # NextMarker only with a delimiter on a truncated page
        ListBucketResult(
            name="bucket",
            prefix="photos/",
            delimiter="/",
            max_keys=2,
            is_truncated=True,
            contents=(ListEntry("photos/a.jpg", T0, ETAG, 5, owner=OWNER),),
            common_prefixes=("photos/2006/",),
            marker="photos/",
            next_marker="photos/2006/",
        ),
        f"""
        <ListBucketResult {NS}>
          <Name>bucket</Name><Prefix>photos/</Prefix><Marker>photos/</Marker>
          <NextMarker>photos/2006/</NextMarker><MaxKeys>2</MaxKeys>
          <Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
          <Contents>
            <Key>photos/a.jpg</Key><LastModified>{T0_ISO}</LastModified>
            <ETag>"{ETAG}"</ETag><Size>5</Size>
            <Owner><ID>{OWNER.id}</ID><DisplayName>alice</DisplayName></Owner>
            <StorageClass>STANDARD</StorageClass>
          </Contents>
          <CommonPrefixes><Prefix>photos/2006/</Prefix></CommonPrefixes>
        </ListBucketResult>""".encode(),
    ),
    (
        ListBucketResult(
            name="bucket",
            prefix="",
            delimiter="",
            max_keys=1,
            is_truncated=True,
            contents=(),
            common_prefixes=(),
            next_marker="ignored",
        ),
        f"""
        <ListBucketResult {NS}>
          <Name>bucket</Name><Prefix/><Marker/><MaxKeys>1</MaxKeys>
          <IsTruncated>true</IsTruncated>
        </ListBucketResult>""".encode(),
    ),
    (
        ListBucketResult(
            name="bucket",
            prefix="a b/",
            delimiter="/",
            max_keys=1000,
            is_truncated=False,
            contents=(ListEntry("a b/c+d&é", T0, ETAG, 0),),
            common_prefixes=("a b/x/",),
            marker="a b/",
            encoding_type="url",
        ),
        f"""
        <ListBucketResult {NS}>
          <Name>bucket</Name><Prefix>a+b/</Prefix><Marker>a+b/</Marker>
          <MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>
          <IsTruncated>false</IsTruncated><EncodingType>url</EncodingType>
          <Contents>
            <Key>a+b/c%2Bd%26%C3%A9</Key><LastModified>{T0_ISO}</LastModified>
            <ETag>"{ETAG}"</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass>
          </Contents>
          <CommonPrefixes><Prefix>a+b/x/</Prefix></CommonPrefixes>
        </ListBucketResult>""".encode(),
    ),
    (
        ListBucketV2Result(
            name="bucket",
            prefix="",
            delimiter="",
            max_keys=1000,
            is_truncated=False,
            contents=(ListEntry("k", T0, f"{ETAG}-2", 7, checksum_algorithm="CRC32"),),
            common_prefixes=(),
            key_count=1,
        ),
        f"""
        <ListBucketResult {NS}>
          <Name>bucket</Name><Prefix/><MaxKeys>1000</MaxKeys><KeyCount>1</KeyCount>
          <IsTruncated>false</IsTruncated>
          <Contents>
            <Key>k</Key><LastModified>{T0_ISO}</LastModified><ETag>"{ETAG}-2"</ETag>
            <ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>7</Size>
            <StorageClass>STANDARD</StorageClass>
          </Contents>
        </ListBucketResult>""".encode(),
    ),
    (
        ListBucketV2Result(
            name="bucket",
            prefix="d/",
            delimiter="/",
            max_keys=2,
            is_truncated=True,
            contents=(),
            common_prefixes=("d/a b/", "d/c/"),
            key_count=2,
            continuation_token="tok1",
            next_continuation_token="tok2",
            start_after="d/ ",
            encoding_type="url",
        ),
        f"""
        <ListBucketResult {NS}>
          <Name>bucket</Name><Prefix>d/</Prefix><Delimiter>/</Delimiter>
          <MaxKeys>2</MaxKeys><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>
          <EncodingType>url</EncodingType>
          <ContinuationToken>tok1</ContinuationToken>
          <NextContinuationToken>tok2</NextContinuationToken>
          <StartAfter>d/+</StartAfter>
          <CommonPrefixes><Prefix>d/a+b/</Prefix></CommonPrefixes>
          <CommonPrefixes><Prefix>d/c/</Prefix></CommonPrefixes>
        </ListBucketResult>""".encode(),
    ),
    (
        ErrorDocument(
            "NoSuchKey",
            "The specified key does not exist.",
            "/bucket/a.txt",
            "4442587FB7D0A2F9",
            {"Key": "a.txt", "BucketName": "bucket"},
        ),
        b"""
        <Error>
          <Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>
          <Key>a.txt</Key><BucketName>bucket</BucketName>
          <Resource>/bucket/a.txt</Resource><RequestId>4442587FB7D0A2F9</RequestId>
        </Error>""",
    ),
    (
        ErrorDocument("InternalError", "We encountered an internal error.", None, "r1"),
        b"""
        <Error>
          <Code>InternalError</Code><Message>We encountered an internal error.</Message>
          <RequestId>r1</RequestId>
        </Error>""",
    ),
]

PARSEABLE = (CreateBucketConfiguration, Delete)


def _case_id(case: object) -> str:
    return type(case).__name__


@pytest.mark.parametrize(("model", "xml"), CASES, ids=[_case_id(m) for m, _ in CASES])
def test_render(model: object, xml: bytes) -> None:
    rendered = render(model)
    assert rendered.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<')
    assert _canonical(rendered) == _canonical(xml)


ROUND_TRIP = [(m, x) for m, x in CASES if isinstance(m, PARSEABLE)]


@pytest.mark.parametrize(("model", "xml"), ROUND_TRIP, ids=[_case_id(m) for m, _ in ROUND_TRIP])
def test_parse(model: object, xml: bytes) -> None:
    assert parse(type(model), xml) == model
    assert parse(type(model), render(model)) == model


# -- parsing what clients send --------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "xml", "expected"),
    [
        (  # no namespace (s3cmd, hand-written bodies)
            CreateBucketConfiguration,
            b"<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>"
            b"</CreateBucketConfiguration>",
            CreateBucketConfiguration("eu-west-1"),
        ),
        (
            CreateBucketConfiguration,
            b"<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>",
            CreateBucketConfiguration(None),
        ),
        (  # directory-bucket elements we do not model are ignored
            CreateBucketConfiguration,
            b"<CreateBucketConfiguration><Location><Type>AvailabilityZone</Type></Location>"
            b"</CreateBucketConfiguration>",
            CreateBucketConfiguration(None),
        ),
        (
            Delete,
            b"<?xml version='1.0'?>\n<!-- a comment -->\n<Delete>\n  <Quiet> TRUE </Quiet>\n"
            b'  <Object><Key>k</Key><ETag>"x"</ETag></Object>\n</Delete>\n',
            Delete((ObjectIdentifier("k", etag='"x"'),), quiet=True),
        ),
        (
            Delete,
            b"<Delete><Object><Key>k</Key><VersionId/></Object><Quiet>false</Quiet></Delete>",
            Delete((ObjectIdentifier("k"),)),
        ),
        (
            Delete,
            b"<Delete><Object><Key></Key></Object></Delete>",
            Delete((ObjectIdentifier(""),)),
        ),
        (  # boto3 serialises the body with the S3 namespace
            Delete,
            f'<Delete xmlns="{S3_NS}"><Object><Key>&#x263A;</Key></Object></Delete>'.encode(),
            Delete((ObjectIdentifier("\u263a"),)),
        ),
    ],
)
def test_parse_variants(cls: type[Any], xml: bytes, expected: object) -> None:
    assert parse(cls, xml) == expected


def test_parse_delete_max_objects() -> None:
    body = b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1000 + b"</Delete>"
    assert len(parse(Delete, body).objects) == 1000
    with pytest.raises(S3Error) as info:
        parse(Delete, b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>")
    assert info.value.code is S3ErrorCode.MALFORMED_XML


def test_parse_delete_stops_reading_past_max_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    """35,000 objects fit in a 1 MB body: it is refused at the 1,001st, the rest unread (the
    Python that reads each one holds the GIL, from the event loop too when parsed off it)."""
    reads: list[str] = []
    real = codec._text

    def counted(el: Any, name: str, **kwargs: Any) -> str | None:
        reads.append(name)
        return real(el, name, **kwargs)

    monkeypatch.setattr(codec, "_text", counted)
    with pytest.raises(S3Error) as info:
        parse(Delete, b"<Delete>" + b"<Object><Key>k</Key></Object>" * 35_000 + b"</Delete>")
    assert info.value.code is S3ErrorCode.MALFORMED_XML
    assert reads.count("Key") == MAX_DELETE_OBJECTS


@pytest.mark.parametrize(
    ("cls", "xml"),
    [
        (Delete, b"<Delete/>"),
        (Delete, b"<Delete><Quiet>true</Quiet></Delete>"),
        (Delete, b"<Delete><Object><VersionId>v</VersionId></Object></Delete>"),
        (Delete, b"<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>"),
        (Delete, b"<Delete><Object><Key>a</Key></Object><Quiet>yes</Quiet></Delete>"),
        (Delete, b"<CreateBucketConfiguration/>"),
        (Delete, b"<Delete><Object><Key>a</Key></Object>"),
        (CreateBucketConfiguration, b"<Delete><Object><Key>a</Key></Object></Delete>"),
        (
            CreateBucketConfiguration,
            b"<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint>"
            b"<LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>",
        ),
        (CreateBucketConfiguration, b""),
    ],
)
def test_parse_malformed(cls: type[Any], xml: bytes) -> None:
    with pytest.raises(S3Error) as info:
        parse(cls, xml)
    assert info.value.code is S3ErrorCode.MALFORMED_XML


def test_unregistered_types() -> None:
    with pytest.raises(TypeError):
        render(object())
    with pytest.raises(TypeError):
        parse(DeleteResult, b"<DeleteResult/>")


def test_render_text_xml_cannot_carry() -> None:
    rendered = render(ErrorDocument("InvalidArgument", "bad \x01 value", None, "r"))
    assert etree.fromstring(rendered).findtext("Message") == "bad \ufffd value"


# -- gateway.xml.safe -----------------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Delete [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Delete><Object><Key>&xxe;</Key></Object></Delete>"""

XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE Delete [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]>
<Delete><Object><Key>k</Key></Object></Delete>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

# The same attack in UTF-16 slips past a byte scan; the parsed docinfo still shows it.
XXE_UTF16 = (
    '<?xml version="1.0" encoding="UTF-16"?>'
    '<!DOCTYPE Delete [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<Delete><Object><Key>&xxe;</Key></Object></Delete>"
).encode("utf-16")


@pytest.mark.parametrize(
    "data",
    [
        XXE,
        XXE_PARAMETER,
        BILLION_LAUGHS,
        XXE_UTF16,
        b'<!DOCTYPE Delete SYSTEM "http://127.0.0.1:1/x.dtd"><Delete/>',
        b"<!DOCTYPE Delete><Delete/>",
        b"",
        b"   \n\t",
        b"not xml at all",
        b"<Delete>",
        b"<a></b>",
        b"<a>&undefined;</a>",
        b"\xff\xfe\x00garbage",
        b"<a/><b/>",
        b"<" + b"a" * 2048,
    ],
    ids=lambda data: data[:24].decode("latin-1").replace("\n", " "),
)
def test_parse_document_refuses(data: bytes) -> None:
    with pytest.raises(S3Error) as info:
        parse_document(data)
    assert info.value.code is S3ErrorCode.MALFORMED_XML


def test_parse_document_size_cap() -> None:
    body = b"<Delete>" + b" " * 100 + b"</Delete>"
    assert local_name(parse_document(body, max_size=len(body))) == "Delete"
    with pytest.raises(S3Error) as info:
        parse_document(body, max_size=len(body) - 1)
    assert info.value.code is S3ErrorCode.MALFORMED_XML


def test_parse_document_default_cap_is_one_mib() -> None:
    with pytest.raises(S3Error):
        parse_document(b"<a>" + b"x" * (1024 * 1024) + b"</a>")


def test_parse_document_other_encodings() -> None:
    root = parse_document('<?xml version="1.0" encoding="UTF-16"?><a>é</a>'.encode("utf-16"))
    assert root.text == "é"


@pytest.mark.parametrize(
    ("xml", "expected"),
    [(f'<Delete xmlns="{S3_NS}"/>'.encode(), "Delete"), (b"<Delete/>", "Delete")],
)
def test_local_name(xml: bytes, expected: str) -> None:
    assert local_name(parse_document(xml)) == expected


# -- botocore reads what we render: the compatibility proof ---------------------------------


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def test_botocore_list_buckets() -> None:
    model = ListAllMyBucketsResult(
        OWNER, (BucketEntry("alpha", T0), BucketEntry("beta", T0 + 0.5, "eu-west-1"))
    )
    parsed = botocore_parse("ListBuckets", render(model))
    assert parsed["Owner"] == {"ID": OWNER.id, "DisplayName": "alice"}
    assert parsed["Buckets"] == [
        {"Name": "alpha", "CreationDate": _at(T0), "BucketRegion": "us-east-1"},
        {"Name": "beta", "CreationDate": _at(T0 + 0.5), "BucketRegion": "eu-west-1"},
    ]


# encoding-type=url as S3 writes it: form encoding with "/" kept (space "+", "~" %7E).
URL_ENCODED = [
    ("plain-_.*/x", "plain-_.*/x"),
    ("a b/c+d", "a+b/c%2Bd"),
    ("test_file(3).png", "test_file%283%29.png"),  # the API reference's own example
    ("~!$&'=,;:@?#[]", "%7E%21%24%26%27%3D%2C%3B%3A%40%3F%23%5B%5D"),
    ("%41 100%", "%2541+100%25"),
    ("ctl\x01\n\t", "ctl%01%0A%09"),
    ("caf\u00e9 \u263a", "caf%C3%A9+%E2%98%BA"),
]


@pytest.mark.parametrize(("value", "encoded"), URL_ENCODED)
def test_url_encode(value: str, encoded: str) -> None:
    assert url_encode(value) == encoded
    assert handlers.unquote_str(encoded) == value  # what SDKs decode it with


KEYS = ("plain.txt", "a b/c+d&e<f>.txt", "caf\u00e9/\u263a", "%41 percent", "x/")


@pytest.mark.parametrize("encoding_type", [None, "url"])
def test_botocore_list_objects_v2(encoding_type: str | None) -> None:
    model = ListBucketV2Result(
        name="bucket",
        prefix="",
        delimiter="/",
        max_keys=7,
        is_truncated=True,
        contents=tuple(
            ListEntry(
                key, T0 + i, f"{ETAG}", i, checksum_algorithm="CRC32", checksum_type="FULL_OBJECT"
            )
            for i, key in enumerate(KEYS)
        ),
        common_prefixes=("dir one/", "d\u00e9j\u00e0+/"),
        key_count=7,
        continuation_token="abc",
        next_continuation_token="def",
        start_after="a b",
        encoding_type=encoding_type,
    )
    parsed = botocore_parse("ListObjectsV2", render(model))
    # boto3 asks for encoding-type=url itself and decodes in this after-call handler.
    handlers.decode_list_object_v2(parsed, context={"encoding_type_auto_set": True})
    assert [c["Key"] for c in parsed["Contents"]] == list(KEYS)
    assert [c["Size"] for c in parsed["Contents"]] == list(range(len(KEYS)))
    assert [c["LastModified"] for c in parsed["Contents"]] == [
        _at(T0 + i) for i in range(len(KEYS))
    ]
    assert {c["ETag"] for c in parsed["Contents"]} == {f'"{ETAG}"'}
    assert {c["StorageClass"] for c in parsed["Contents"]} == {"STANDARD"}
    assert parsed["Contents"][0]["ChecksumAlgorithm"] == ["CRC32"]
    assert parsed["Contents"][0]["ChecksumType"] == "FULL_OBJECT"
    assert parsed["CommonPrefixes"] == [{"Prefix": "dir one/"}, {"Prefix": "d\u00e9j\u00e0+/"}]
    assert parsed["IsTruncated"] is True
    assert parsed["KeyCount"] == 7
    assert parsed["MaxKeys"] == 7
    assert parsed["Name"] == "bucket"
    assert parsed["Prefix"] == ""
    assert parsed["Delimiter"] == "/"
    assert parsed["ContinuationToken"] == "abc"
    assert parsed["NextContinuationToken"] == "def"
    assert parsed["StartAfter"] == "a b"
    assert parsed.get("EncodingType") == encoding_type


@pytest.mark.parametrize("encoding_type", [None, "url"])
def test_botocore_list_objects(encoding_type: str | None) -> None:
    model = ListBucketResult(
        name="bucket",
        prefix="",
        delimiter="/",
        max_keys=3,
        is_truncated=True,
        contents=tuple(ListEntry(key, T0, ETAG, 1, owner=OWNER) for key in KEYS),
        common_prefixes=("p q/",),
        marker="a b",
        next_marker="p q/",
        encoding_type=encoding_type,
    )
    parsed = botocore_parse("ListObjects", render(model))
    handlers.decode_list_object(parsed, context={"encoding_type_auto_set": True})
    assert [c["Key"] for c in parsed["Contents"]] == list(KEYS)
    assert parsed["Contents"][0]["Owner"] == {"ID": OWNER.id, "DisplayName": "alice"}
    assert parsed["CommonPrefixes"] == [{"Prefix": "p q/"}]
    assert parsed["Marker"] == "a b"
    assert parsed["NextMarker"] == "p q/"
    assert parsed["Delimiter"] == "/"
    assert parsed["IsTruncated"] is True
    assert parsed["MaxKeys"] == 3


def test_botocore_delete_objects() -> None:
    model = DeleteResult(
        deleted=(
            DeletedEntry("a b"),
            DeletedEntry("c", delete_marker=True, delete_marker_version_id="dm"),
        ),
        errors=(DeleteErrorEntry("d", "AccessDenied", "Access Denied", "v1"),),
    )
    parsed = botocore_parse("DeleteObjects", render(model))
    assert parsed["Deleted"] == [
        {"Key": "a b"},
        {"Key": "c", "DeleteMarker": True, "DeleteMarkerVersionId": "dm"},
    ]
    assert parsed["Errors"] == [
        {"Key": "d", "VersionId": "v1", "Code": "AccessDenied", "Message": "Access Denied"}
    ]


def test_botocore_copy_object() -> None:
    model = CopyObjectResult(ETAG, T0 + 0.125, {"CRC32": "y/Q5Jg=="})
    parsed = botocore_parse("CopyObject", render(model))
    assert parsed["CopyObjectResult"] == {
        "ETag": f'"{ETAG}"',
        "LastModified": _at(T0 + 0.125),
        "ChecksumCRC32": "y/Q5Jg==",
    }


@pytest.mark.parametrize(("region", "expected"), [("us-east-1", None), ("eu-west-1", "eu-west-1")])
def test_botocore_get_bucket_location(region: str, expected: str | None) -> None:
    body = render(LocationConstraint(region))
    parsed: dict[str, Any] = {}
    # botocore reads this one body in a customisation, not through the shape parser.
    handlers.parse_get_bucket_location(parsed, types.SimpleNamespace(content=body, raw=object()))
    assert parsed["LocationConstraint"] == expected


def test_botocore_error() -> None:
    model = ErrorDocument(
        "NoSuchKey", "The specified key does not exist.", "/b/k", "REQ1", {"Key": "k"}
    )
    parsed = botocore_parse("GetObject", render(model), status=404, metadata=True)
    assert parsed["Error"]["Code"] == "NoSuchKey"
    assert parsed["Error"]["Message"] == "The specified key does not exist."
    assert parsed["Error"]["Key"] == "k"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 404
