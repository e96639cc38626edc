"""gateway.xml.replication: the (model, XML) table for ReplicationConfiguration (parsed and
rendered alike), V1 prefixes, and malformed bodies."""

from __future__ import annotations

import pytest
from lxml import etree

import gateway.xml.replication  # noqa: F401  (registers the document)
from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.replication import And, Destination, Filter, ReplicationConfiguration, Rule
from gateway.s3.tagging import Tag
from gateway.xml.codec import S3_NS, parse, render

NS = f'xmlns="{S3_NS}"'
DEST = "arn:aws:s3:::copies"


def _canonical(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml, parser), method="c14n")


def _doc(*rules: str, role: str = "") -> bytes:
    return (f"<ReplicationConfiguration {NS}><Role>{role}</Role>" + "".join(rules)
            + "</ReplicationConfiguration>").encode()  # fmt: skip


OFF = "<ExistingObjectReplication><Status>Disabled</Status></ExistingObjectReplication>"
DM_OFF = "<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>"
DM_ON = "<DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication>"

CASES: list[tuple[ReplicationConfiguration, bytes]] = [
    (
        ReplicationConfiguration(
            "", (Rule("Enabled", Destination(DEST), id="all", priority=1, filter=Filter()),)
        ),  # fmt: skip
        _doc(
            f"<Rule><ID>all</ID><Priority>1</Priority><Filter/><Status>Enabled</Status>{OFF}"
            f"<Destination><Bucket>{DEST}</Bucket></Destination>{DM_OFF}</Rule>"
        ),  # fmt: skip
    ),
    (
        ReplicationConfiguration(
            "arn:aws:iam::1:role/r",
            (
                Rule(
                    "Enabled",
                    Destination(DEST, storage_class="STANDARD_IA"),
                    id="logs",
                    priority=2,
                    filter=Filter(prefix="logs/"),
                    delete_marker_replication=True,
                    existing_object_replication=True,
                    replica_modifications=True,
                ),
                Rule(
                    "Disabled",
                    Destination(DEST, account="123"),
                    id="t",
                    priority=3,
                    filter=Filter(tag=Tag("k", "v")),
                ),
            ),
        ),  # fmt: skip
        _doc(
            "<Rule><ID>logs</ID><Priority>2</Priority><Filter><Prefix>logs/</Prefix></Filter>"
            "<Status>Enabled</Status><SourceSelectionCriteria><ReplicaModifications>"
            "<Status>Enabled</Status></ReplicaModifications></SourceSelectionCriteria>"
            "<ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication>"
            f"<Destination><Bucket>{DEST}</Bucket><StorageClass>STANDARD_IA</StorageClass>"
            f"</Destination>{DM_ON}</Rule>"
            "<Rule><ID>t</ID><Priority>3</Priority><Filter><Tag><Key>k</Key><Value>v</Value>"
            f"</Tag></Filter><Status>Disabled</Status>{OFF}<Destination><Bucket>{DEST}</Bucket>"
            f"<Account>123</Account></Destination>{DM_OFF}</Rule>",
            role="arn:aws:iam::1:role/r",
        ),
    ),
    (
        ReplicationConfiguration(
            "",
            (
                Rule(
                    "Enabled",
                    Destination(DEST),
                    id="and",
                    filter=Filter(and_=And("a/", (Tag("x", "1"), Tag("y", "2")))),
                ),
            ),
        ),  # fmt: skip
        _doc(
            "<Rule><ID>and</ID><Filter><And><Prefix>a/</Prefix><Tag><Key>x</Key><Value>1"
            "</Value></Tag><Tag><Key>y</Key><Value>2</Value></Tag></And></Filter>"
            f"<Status>Enabled</Status>{OFF}<Destination><Bucket>{DEST}</Bucket></Destination>"
            f"{DM_OFF}</Rule>"
        ),
    ),
    (  # V1: a bare Prefix
        ReplicationConfiguration(
            "", (Rule("Enabled", Destination(DEST), id="v1", prefix="docs/"),)
        ),  # fmt: skip
        _doc(
            f"<Rule><ID>v1</ID><Prefix>docs/</Prefix><Status>Enabled</Status>{OFF}"
            f"<Destination><Bucket>{DEST}</Bucket></Destination>{DM_OFF}</Rule>"
        ),  # fmt: skip
    ),
]


@pytest.mark.parametrize(("model", "xml"), CASES)
def test_replication_configuration_round_trip(model: ReplicationConfiguration, xml: bytes) -> None:
    assert parse(ReplicationConfiguration, xml) == model
    assert _canonical(render(model)) == _canonical(xml)


def test_replication_configuration_without_namespace_or_optional_parts() -> None:
    xml = (b"<ReplicationConfiguration><Rule><Status>Enabled</Status><Destination><Bucket>"
           b"arn:aws:s3:::b</Bucket></Destination></Rule></ReplicationConfiguration>")  # fmt: skip
    config = parse(ReplicationConfiguration, xml)
    assert config.rules == (Rule("Enabled", Destination("arn:aws:s3:::b")),)


@pytest.mark.parametrize(
    "rule",
    [
        "<Rule><Destination><Bucket>arn:aws:s3:::b</Bucket></Destination></Rule>",  # no Status
        "<Rule><Status>Enabled</Status></Rule>",  # no Destination
        "<Rule><Status>Enabled</Status><Destination/></Rule>",  # no Bucket
        "<Rule><Status>Enabled</Status><Priority>x</Priority>"
        "<Destination><Bucket>arn:aws:s3:::b</Bucket></Destination></Rule>",
        "<Rule><Status>Enabled</Status><Filter><Prefix>a</Prefix><Tag><Key>k</Key>"
        "<Value>v</Value></Tag></Filter><Destination><Bucket>arn:aws:s3:::b</Bucket>"
        "</Destination></Rule>",  # two filter kinds
        "<Rule><Status>Enabled</Status><Prefix>a</Prefix><Filter/>"
        "<Destination><Bucket>arn:aws:s3:::b</Bucket></Destination></Rule>",  # V1 and V2
        "<Rule><Status>Enabled</Status><DeleteMarkerReplication><Status>On</Status>"
        "</DeleteMarkerReplication><Destination><Bucket>arn:aws:s3:::b</Bucket>"
        "</Destination></Rule>",
    ],
)
def test_replication_configuration_malformed(rule: str) -> None:
    with pytest.raises(S3Error) as raised:
        parse(ReplicationConfiguration, _doc(rule))
    assert raised.value.code is S3ErrorCode.MALFORMED_XML
