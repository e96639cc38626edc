"""gateway.xml.object_lock: the (model, XML) table for ObjectLockConfiguration, Retention and
LegalHold, malformed bodies, and botocore reading what we render."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from lxml import etree

import gateway.xml.object_lock  # noqa: F401  (registers the documents)
from gateway.errors import S3Error, S3ErrorCode
from gateway.s3.object_lock import DefaultRetention, LegalHold, ObjectLockConfiguration, Retention
from gateway.xml.codec import S3_NS, parse, render
from tests.support.botocore_xml import botocore_parse

NS = f'xmlns="{S3_NS}"'
UNTIL = 1_893_456_000.0  # 2030-01-01T00:00:00Z


def _canonical(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml, parser), method="c14n")


CASES: list[tuple[object, bytes]] = [
    (
        ObjectLockConfiguration(True, DefaultRetention("GOVERNANCE", days=3)),
        f"<ObjectLockConfiguration {NS}><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
        "<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>3</Days></DefaultRetention>"
        "</Rule></ObjectLockConfiguration>".encode(),
    ),
    (
        ObjectLockConfiguration(True, DefaultRetention("COMPLIANCE", years=2)),
        f"<ObjectLockConfiguration {NS}><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
        "<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>2</Years></DefaultRetention>"
        "</Rule></ObjectLockConfiguration>".encode(),
    ),
    (
        ObjectLockConfiguration(),
        f"<ObjectLockConfiguration {NS}><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
        "</ObjectLockConfiguration>".encode(),
    ),
    (
        Retention("COMPLIANCE", UNTIL),
        f"<Retention {NS}><Mode>COMPLIANCE</Mode>"
        "<RetainUntilDate>2030-01-01T00:00:00.000Z</RetainUntilDate></Retention>".encode(),
    ),
    (Retention(), f"<Retention {NS}/>".encode()),
    (LegalHold(True), f"<LegalHold {NS}><Status>ON</Status></LegalHold>".encode()),
    (LegalHold(False), f"<LegalHold {NS}><Status>OFF</Status></LegalHold>".encode()),
]


def _lock(inner: str) -> bytes:
    return f"<ObjectLockConfiguration>{inner}</ObjectLockConfiguration>".encode()


def _default(inner: str) -> bytes:
    return _lock(f"<Rule><DefaultRetention>{inner}</DefaultRetention></Rule>")


def _retention(mode: str, until: str | None = None) -> bytes:
    date = f"<RetainUntilDate>{until}</RetainUntilDate>" if until is not None else ""
    return f"<Retention><Mode>{mode}</Mode>{date}</Retention>".encode()


MALFORMED: list[tuple[type[Any], bytes]] = [
    (ObjectLockConfiguration, _lock("<ObjectLockEnabled>On</ObjectLockEnabled>")),
    (ObjectLockConfiguration, _lock("<Rule/>")),
    (ObjectLockConfiguration, _default("<Days>1</Days>")),
    (ObjectLockConfiguration, _default("<Mode>GOVERNANCE</Mode><Days>x</Days>")),
    (Retention, _retention("GOVERNANCE")),
    (Retention, _retention("NONE", "2030-01-01T00:00:00Z")),
    (Retention, _retention("GOVERNANCE", "soon")),
    (LegalHold, b"<LegalHold><Status>on</Status></LegalHold>"),
    (LegalHold, b"<LegalHold/>"),
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


def test_botocore_object_lock() -> None:
    lock = botocore_parse(
        "GetObjectLockConfiguration",
        render(ObjectLockConfiguration(True, DefaultRetention("GOVERNANCE", days=1))),
    )
    assert lock["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
    }
    retention = botocore_parse("GetObjectRetention", render(Retention("COMPLIANCE", UNTIL)))
    assert retention["Retention"]["RetainUntilDate"] == datetime.fromtimestamp(UNTIL, UTC)
    hold = botocore_parse("GetObjectLegalHold", render(LegalHold(True)))
    assert hold["LegalHold"] == {"Status": "ON"}
