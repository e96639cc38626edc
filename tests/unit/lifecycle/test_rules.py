"""lifecycle.rules and gateway.xml.lifecycle: the (model, XML) round-trip table, the
validation table, rule matching, and botocore reading what we render."""

from __future__ import annotations

import pytest
from lxml import etree

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.tagging import Tag
from gateway.xml.codec import S3_NS, parse, render
from gateway.xml.lifecycle import load_configuration
from lifecycle.rules import (
    MAX_RULES,
    AbortIncompleteMultipartUpload,
    And,
    Conditions,
    Expiration,
    Filter,
    LifecycleConfiguration,
    NoncurrentVersionExpiration,
    Rule,
    validate,
)
from tests.support.botocore_xml import botocore_parse

NS = f'xmlns="{S3_NS}"'
MIDNIGHT = 1_893_456_000.0  # 2030-01-01T00:00:00Z


def _canonical(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml, parser), method="c14n")


def _doc(rules: str) -> bytes:
    return f"<LifecycleConfiguration {NS}>{rules}</LifecycleConfiguration>".encode()


def _one(rule: Rule) -> LifecycleConfiguration:
    return LifecycleConfiguration((rule,))


# -- the round-trip table ---------------------------------------------------------------------

CASES: list[tuple[LifecycleConfiguration, bytes]] = [
    (
        _one(Rule("Enabled", "expire-logs", Filter(prefix="logs/"), expiration=Expiration(30))),
        _doc(
            "<Rule><ID>expire-logs</ID><Filter><Prefix>logs/</Prefix></Filter>"
            "<Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>"
        ),
    ),
    (
        _one(Rule("Disabled", "legacy", prefix="", expiration=Expiration(date=MIDNIGHT))),
        _doc(
            "<Rule><ID>legacy</ID><Prefix></Prefix><Status>Disabled</Status>"
            "<Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration></Rule>"
        ),
    ),
    (
        _one(
            Rule(
                "Enabled",
                "markers",
                Filter(),
                expiration=Expiration(expired_object_delete_marker=True),
                noncurrent_version_expiration=NoncurrentVersionExpiration(7, 3),
                abort_incomplete_multipart_upload=AbortIncompleteMultipartUpload(2),
            )
        ),
        _doc(
            "<Rule><ID>markers</ID><Filter/><Status>Enabled</Status>"
            "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
            "<NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays>"
            "<NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
            "<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation>"
            "</AbortIncompleteMultipartUpload></Rule>"
        ),
    ),
    (
        LifecycleConfiguration(
            (
                Rule("Enabled", "tag", Filter(tag=Tag("class", "tmp")), expiration=Expiration(1)),
                Rule(
                    "Enabled",
                    "and",
                    Filter(
                        and_=And(
                            prefix="a/",
                            tags=(Tag("x", "1"), Tag("y", "")),
                            size_greater_than=10,
                            size_less_than=1000,
                        )
                    ),
                    expiration=Expiration(2),
                ),
                Rule(
                    "Enabled",
                    "big",
                    Filter(size_greater_than=1 << 20),
                    noncurrent_version_expiration=NoncurrentVersionExpiration(1),
                ),
                Rule("Enabled", "small", Filter(size_less_than=5), expiration=Expiration(9)),
            )
        ),
        _doc(
            "<Rule><ID>tag</ID><Filter><Tag><Key>class</Key><Value>tmp</Value></Tag></Filter>"
            "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
            "<Rule><ID>and</ID><Filter><And><Prefix>a/</Prefix>"
            "<Tag><Key>x</Key><Value>1</Value></Tag><Tag><Key>y</Key><Value></Value></Tag>"
            "<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>"
            "<ObjectSizeLessThan>1000</ObjectSizeLessThan></And></Filter>"
            "<Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>"
            "<Rule><ID>big</ID><Filter><ObjectSizeGreaterThan>1048576</ObjectSizeGreaterThan>"
            "</Filter><Status>Enabled</Status><NoncurrentVersionExpiration>"
            "<NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>"
            "<Rule><ID>small</ID><Filter><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter>"
            "<Status>Enabled</Status><Expiration><Days>9</Days></Expiration></Rule>"
        ),
    ),
]


@pytest.mark.parametrize(("model", "xml"), CASES)
def test_render(model: LifecycleConfiguration, xml: bytes) -> None:
    assert _canonical(render(model)) == _canonical(xml)


@pytest.mark.parametrize(("model", "xml"), CASES)
def test_parse(model: LifecycleConfiguration, xml: bytes) -> None:
    assert parse(LifecycleConfiguration, xml) == model
    validate(model)  # every table entry is a valid configuration
    assert load_configuration(render(model).decode()) == model


def test_parse_without_namespace_and_date_forms() -> None:
    xml = (
        b"<LifecycleConfiguration><Rule><Filter><Prefix>p</Prefix></Filter>"
        b"<Status>Enabled</Status><Expiration><Date>2030-01-01</Date></Expiration>"
        b"</Rule></LifecycleConfiguration>"
    )
    config = parse(LifecycleConfiguration, xml)
    assert config.rules[0].id is None
    assert config.rules[0].expiration == Expiration(date=MIDNIGHT)


# -- validation: (document, error code) -------------------------------------------------------

ACTION = "<Expiration><Days>1</Days></Expiration>"
FILTER = "<Filter/>"

INVALID: list[tuple[str, bytes, S3ErrorCode]] = [
    ("no rules", _doc(""), S3ErrorCode.MALFORMED_XML),
    ("no status", _doc(f"<Rule>{FILTER}{ACTION}</Rule>"), S3ErrorCode.MALFORMED_XML),
    (
        "bad status",
        _doc(f"<Rule>{FILTER}<Status>On</Status>{ACTION}</Rule>"),
        S3ErrorCode.MALFORMED_XML,
    ),
    (
        "neither filter nor prefix",
        _doc(f"<Rule><Status>Enabled</Status>{ACTION}</Rule>"),
        S3ErrorCode.MALFORMED_XML,
    ),
    (
        "filter and prefix",
        _doc(f"<Rule>{FILTER}<Prefix>a</Prefix><Status>Enabled</Status>{ACTION}</Rule>"),
        S3ErrorCode.MALFORMED_XML,
    ),
    (
        "two filter conditions",
        _doc(
            "<Rule><Filter><Prefix>a</Prefix><ObjectSizeLessThan>3</ObjectSizeLessThan></Filter>"
            f"<Status>Enabled</Status>{ACTION}</Rule>"
        ),
        S3ErrorCode.MALFORMED_XML,
    ),
    (
        "no action",
        _doc(f"<Rule>{FILTER}<Status>Enabled</Status></Rule>"),
        S3ErrorCode.INVALID_REQUEST,
    ),
    (
        "days zero",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "days negative",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Expiration><Days>-3</Days></Expiration></Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "days not a number",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Expiration><Days>x</Days></Expiration></Rule>"
        ),
        S3ErrorCode.MALFORMED_XML,
    ),
    (
        "days and date",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Expiration><Days>1</Days>"
            "<Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>"
        ),
        S3ErrorCode.MALFORMED_XML,
    ),
    (
        "date not at midnight",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Expiration>"
            "<Date>2030-01-01T10:00:00Z</Date></Expiration></Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "date unparseable",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Expiration>"
            "<Date>tomorrow</Date></Expiration></Rule>"
        ),
        S3ErrorCode.MALFORMED_XML,
    ),
    (
        "noncurrent days zero",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><NoncurrentVersionExpiration>"
            "<NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration></Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "newer noncurrent out of range",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><NoncurrentVersionExpiration>"
            "<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101"
            "</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "abort days zero",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><AbortIncompleteMultipartUpload>"
            "<DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "abort with a tag filter",
        _doc(
            "<Rule><Filter><Tag><Key>a</Key><Value>b</Value></Tag></Filter>"
            "<Status>Enabled</Status><AbortIncompleteMultipartUpload>"
            "<DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
        ),
        S3ErrorCode.INVALID_REQUEST,
    ),
    (
        "expired marker with a tag filter",
        _doc(
            "<Rule><Filter><Tag><Key>a</Key><Value>b</Value></Tag></Filter>"
            "<Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true"
            "</ExpiredObjectDeleteMarker></Expiration></Rule>"
        ),
        S3ErrorCode.INVALID_REQUEST,
    ),
    (
        "duplicate ids",
        _doc(
            f"<Rule><ID>x</ID>{FILTER}<Status>Enabled</Status>{ACTION}</Rule>"
            f"<Rule><ID>x</ID>{FILTER}<Status>Enabled</Status>{ACTION}</Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "id too long",
        _doc(f"<Rule><ID>{'i' * 256}</ID>{FILTER}<Status>Enabled</Status>{ACTION}</Rule>"),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "too many rules",
        _doc(f"<Rule>{FILTER}<Status>Enabled</Status>{ACTION}</Rule>" * (MAX_RULES + 1)),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "sizes crossed",
        _doc(
            "<Rule><Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>"
            "<ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter>"
            f"<Status>Enabled</Status>{ACTION}</Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "duplicate tag keys in And",
        _doc(
            "<Rule><Filter><And><Tag><Key>a</Key><Value>1</Value></Tag>"
            "<Tag><Key>a</Key><Value>2</Value></Tag></And></Filter>"
            f"<Status>Enabled</Status>{ACTION}</Rule>"
        ),
        S3ErrorCode.INVALID_REQUEST,
    ),
    (
        "transition",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Transition><Days>30</Days>"
            "<StorageClass>GLACIER</StorageClass></Transition></Rule>"
        ),
        S3ErrorCode.NOT_IMPLEMENTED,
    ),
    (
        "noncurrent transition",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><NoncurrentVersionTransition>"
            "<NoncurrentDays>30</NoncurrentDays><StorageClass>GLACIER</StorageClass>"
            "</NoncurrentVersionTransition></Rule>"
        ),
        S3ErrorCode.NOT_IMPLEMENTED,
    ),
    (
        "transition date not at midnight",  # boto3 sends Date "20220927" as epoch seconds
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Transition>"
            "<Date>1970-08-23T00:55:27Z</Date><StorageClass>GLACIER</StorageClass>"
            "</Transition></Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "transition days negative",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Transition><Days>-1</Days>"
            "<StorageClass>GLACIER</StorageClass></Transition></Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "transition to STANDARD_IA before 30 days",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Transition><Days>10</Days>"
            "<StorageClass>STANDARD_IA</StorageClass></Transition></Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "noncurrent transition to ONEZONE_IA before 30 days",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><NoncurrentVersionTransition>"
            "<NoncurrentDays>1</NoncurrentDays><StorageClass>ONEZONE_IA</StorageClass>"
            "</NoncurrentVersionTransition></Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "transition unknown storage class",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Transition><Days>1</Days>"
            "<StorageClass>COLD</StorageClass></Transition></Rule>"
        ),
        S3ErrorCode.MALFORMED_XML,
    ),
    (
        "transition days and date",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Transition><Days>1</Days>"
            "<Date>2030-01-01T00:00:00Z</Date><StorageClass>GLACIER</StorageClass>"
            "</Transition></Rule>"
        ),
        S3ErrorCode.MALFORMED_XML,
    ),
    (
        "valid transition, invalid rule after it",
        _doc(
            f"<Rule><ID>t</ID>{FILTER}<Status>Enabled</Status><Transition><Days>1</Days>"
            "<StorageClass>GLACIER</StorageClass></Transition></Rule>"
            f"<Rule><ID>e</ID>{FILTER}<Status>Enabled</Status>"
            "<Expiration><Days>0</Days></Expiration></Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    (
        "transition date with expiration days",
        _doc(
            f"<Rule>{FILTER}<Status>Enabled</Status><Expiration><Days>400</Days></Expiration>"
            "<Transition><Date>2030-01-01T00:00:00Z</Date><StorageClass>GLACIER</StorageClass>"
            "</Transition></Rule>"
        ),
        S3ErrorCode.INVALID_REQUEST,
    ),
    (
        "abort upload with a size filter",
        _doc(
            "<Rule><Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></Filter>"
            "<Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1"
            "</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
        ),
        S3ErrorCode.INVALID_REQUEST,
    ),
    (
        "expired delete marker with a size filter",
        _doc(
            "<Rule><Filter><And><Prefix>a</Prefix><ObjectSizeLessThan>10</ObjectSizeLessThan>"
            "</And></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>"
            "true</ExpiredObjectDeleteMarker></Expiration></Rule>"
        ),
        S3ErrorCode.INVALID_REQUEST,
    ),
    (
        "And with one predicate",
        _doc(
            "<Rule><Filter><And><Prefix>a</Prefix></And></Filter>"
            f"<Status>Enabled</Status>{ACTION}</Rule>"
        ),
        S3ErrorCode.MALFORMED_XML,
    ),
    (
        "And size bounds crossed",
        _doc(
            "<Rule><Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>"
            "<ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter>"
            f"<Status>Enabled</Status>{ACTION}</Rule>"
        ),
        S3ErrorCode.INVALID_ARGUMENT,
    ),
    ("not xml", b"<LifecycleConfiguration>", S3ErrorCode.MALFORMED_XML),
    ("wrong root", b"<Lifecycle/>", S3ErrorCode.MALFORMED_XML),
]


@pytest.mark.parametrize(("name", "xml", "code"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid(name: str, xml: bytes, code: S3ErrorCode) -> None:
    with pytest.raises(S3Error) as err:
        validate(parse(LifecycleConfiguration, xml, max_size=4 << 20))
    assert err.value.code is code


# -- matching ---------------------------------------------------------------------------------

MATCHES: list[tuple[Rule, str, int, dict[str, str], bool]] = [
    (Rule("Enabled", prefix="logs/"), "logs/a", 1, {}, True),
    (Rule("Enabled", prefix="logs/"), "log/a", 1, {}, False),
    (Rule("Enabled", filter=Filter()), "anything", 0, {}, True),
    (Rule("Enabled", filter=Filter(tag=Tag("t", "1"))), "k", 1, {"t": "1"}, True),
    (Rule("Enabled", filter=Filter(tag=Tag("t", "1"))), "k", 1, {"t": "2"}, False),
    (Rule("Enabled", filter=Filter(size_greater_than=10)), "k", 10, {}, False),
    (Rule("Enabled", filter=Filter(size_greater_than=10)), "k", 11, {}, True),
    (Rule("Enabled", filter=Filter(size_less_than=10)), "k", 10, {}, False),
    (
        Rule("Enabled", filter=Filter(and_=And("a/", (Tag("x", "1"), Tag("y", "2"))))),
        "a/b",
        1,
        {"x": "1", "y": "2", "z": "3"},
        True,
    ),
    (
        Rule("Enabled", filter=Filter(and_=And("a/", (Tag("x", "1"), Tag("y", "2"))))),
        "a/b",
        1,
        {"x": "1"},
        False,
    ),
]


@pytest.mark.parametrize(("rule", "key", "size", "tags", "expected"), MATCHES)
def test_matches(rule: Rule, key: str, size: int, tags: dict[str, str], expected: bool) -> None:
    assert rule.conditions.matches(key, size, tags) is expected


def test_conditions_of_legacy_prefix() -> None:
    assert Rule("Enabled", prefix="p/").conditions == Conditions(prefix="p/")


# -- botocore reads what we render --------------------------------------------------------------


def test_botocore_get_bucket_lifecycle_configuration() -> None:
    model = CASES[2][0]
    parsed = botocore_parse("GetBucketLifecycleConfiguration", render(model))
    rule = parsed["Rules"][0]
    assert rule["ID"] == "markers"
    assert rule["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert rule["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 7,
        "NewerNoncurrentVersions": 3,
    }
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
