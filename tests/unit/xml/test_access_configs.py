"""gateway.xml.public_access, gateway.xml.ownership and gateway.xml.policy_status: the
(model, XML) tables, malformed bodies, and botocore reading what we render."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

import gateway.xml.public_access  # noqa: F401  (registers PublicAccessBlock's codec)
from auth.policy.ownership import ObjectOwnership
from auth.policy.public import PublicAccessBlock
from gateway.errors import S3Error, S3ErrorCode
from gateway.xml.codec import S3_NS, parse, render
from gateway.xml.ownership import OwnershipControls
from gateway.xml.policy_status import PolicyStatus
from tests.support.botocore_xml import botocore_parse

NS = f'xmlns="{S3_NS}"'


def _canonical(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml, parser), method="c14n")


def _pab(acls: str, ignore: str, policy: str, restrict: str) -> bytes:
    return (
        f"<PublicAccessBlockConfiguration {NS}><BlockPublicAcls>{acls}</BlockPublicAcls>"
        f"<IgnorePublicAcls>{ignore}</IgnorePublicAcls>"
        f"<BlockPublicPolicy>{policy}</BlockPublicPolicy>"
        f"<RestrictPublicBuckets>{restrict}</RestrictPublicBuckets>"
        "</PublicAccessBlockConfiguration>"
    ).encode()


def _controls(value: str) -> bytes:
    return (
        f"<OwnershipControls {NS}><Rule><ObjectOwnership>{value}</ObjectOwnership></Rule>"
        "</OwnershipControls>"
    ).encode()


# Documents that both render and parse to each other.
ROUND_TRIPS: list[tuple[object, bytes]] = [
    (PublicAccessBlock(), _pab("false", "false", "false", "false")),
    (PublicAccessBlock(True, False, True, False), _pab("true", "false", "true", "false")),
    (PublicAccessBlock(False, True, False, True), _pab("false", "true", "false", "true")),
    (OwnershipControls(ObjectOwnership.BUCKET_OWNER_ENFORCED), _controls("BucketOwnerEnforced")),
    (
        OwnershipControls(ObjectOwnership.BUCKET_OWNER_PREFERRED),
        _controls("BucketOwnerPreferred"),
    ),
    (OwnershipControls(ObjectOwnership.OBJECT_WRITER), _controls("ObjectWriter")),
]

RENDERED: list[tuple[object, bytes]] = [
    *ROUND_TRIPS,
    (PolicyStatus(True), f"<PolicyStatus {NS}><IsPublic>true</IsPublic></PolicyStatus>".encode()),
    (
        PolicyStatus(False),
        f"<PolicyStatus {NS}><IsPublic>false</IsPublic></PolicyStatus>".encode(),
    ),
]

# Bodies clients send that parse to a model without rendering back the same way.
PARSED: list[tuple[bytes, object]] = [
    # absent members are false; no namespace; any case of true/false
    (b"<PublicAccessBlockConfiguration/>", PublicAccessBlock()),
    (
        b"<PublicAccessBlockConfiguration><BlockPublicPolicy>TRUE</BlockPublicPolicy>"
        b"</PublicAccessBlockConfiguration>",
        PublicAccessBlock(block_public_policy=True),
    ),
    (
        b"<PublicAccessBlockConfiguration><RestrictPublicBuckets>true</RestrictPublicBuckets>"
        b"<Unknown>x</Unknown></PublicAccessBlockConfiguration>",
        PublicAccessBlock(restrict_public_buckets=True),
    ),
]

MALFORMED: list[tuple[type[Any], bytes]] = [
    (
        PublicAccessBlock,
        b"<PublicAccessBlock><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlock>",
    ),
    (
        PublicAccessBlock,
        b"<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls>"
        b"</PublicAccessBlockConfiguration>",
    ),
    (
        PublicAccessBlock,
        b"<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>"
        b"<BlockPublicAcls>false</BlockPublicAcls></PublicAccessBlockConfiguration>",
    ),
    (PublicAccessBlock, b"<PublicAccessBlockConfiguration>"),
    (OwnershipControls, b"<OwnershipControls/>"),
    (OwnershipControls, b"<OwnershipControls><Rule/></OwnershipControls>"),
    (OwnershipControls, _controls("BucketOwner")),
    (OwnershipControls, _controls("")),
    (
        OwnershipControls,
        b"<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule>"
        b"<Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>",
    ),
    (OwnershipControls, b'<!DOCTYPE x [<!ENTITY e "ObjectWriter">]><OwnershipControls/>'),
]


@pytest.mark.parametrize(("model", "xml"), RENDERED)
def test_render(model: object, xml: bytes) -> None:
    assert _canonical(render(model)) == _canonical(xml)


@pytest.mark.parametrize(("model", "xml"), ROUND_TRIPS)
def test_parse(model: object, xml: bytes) -> None:
    assert parse(type(model), xml) == model


@pytest.mark.parametrize(("xml", "model"), PARSED)
def test_parse_lenient(xml: bytes, model: object) -> None:
    assert parse(type(model), xml) == model


@pytest.mark.parametrize(("cls", "xml"), MALFORMED)
def test_parse_malformed(cls: type[Any], xml: bytes) -> None:
    with pytest.raises(S3Error) as err:
        parse(cls, xml)
    assert err.value.code is S3ErrorCode.MALFORMED_XML


def test_botocore_public_access_block() -> None:
    body = render(PublicAccessBlock(True, False, False, True))
    assert botocore_parse("GetPublicAccessBlock", body) == {
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        }
    }


def test_botocore_ownership_controls() -> None:
    body = render(OwnershipControls(ObjectOwnership.BUCKET_OWNER_PREFERRED))
    assert botocore_parse("GetBucketOwnershipControls", body) == {
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    }


@pytest.mark.parametrize("public", [True, False])
def test_botocore_policy_status(public: bool) -> None:
    body = render(PolicyStatus(public))
    assert botocore_parse("GetBucketPolicyStatus", body) == {"PolicyStatus": {"IsPublic": public}}
