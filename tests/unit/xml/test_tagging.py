"""gateway.xml.tagging: the (model, XML) table for tag sets, malformed bodies, and botocore
reading what we render."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.tagging import Tag
from gateway.xml.codec import S3_NS, parse, render
from gateway.xml.tagging import Tagging
from tests.support.botocore_xml import botocore_parse

NS = f'xmlns="{S3_NS}"'


def _canonical(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml, parser), method="c14n")


CASES: list[tuple[object, bytes]] = [
    (
        Tagging((Tag("a", "1"), Tag("key & <b>", ""))),
        f"<Tagging {NS}><TagSet><Tag><Key>a</Key><Value>1</Value></Tag>"
        "<Tag><Key>key &amp; &lt;b&gt;</Key><Value></Value></Tag></TagSet></Tagging>".encode(),
    ),
    (Tagging(()), f"<Tagging {NS}><TagSet/></Tagging>".encode()),
]

MALFORMED: list[tuple[type[Any], bytes]] = [
    (Tagging, b"<Tagging/>"),
    (Tagging, b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>"),
    (Tagging, b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>"),
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


def test_botocore_tagging() -> None:
    tagging = botocore_parse("GetObjectTagging", render(Tagging((Tag("a", "1"),))))
    assert tagging["TagSet"] == [{"Key": "a", "Value": "1"}]
