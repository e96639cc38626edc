"""gateway.xml.acl: the (model, XML) table for AccessControlPolicy, malformed bodies, and
botocore reading what we render."""

from __future__ import annotations

import pytest
from lxml import etree

from auth.policy.acl import ALL_USERS, AUTHENTICATED_USERS, Grant, Grantee, GranteeType, Permission
from gateway.errors import S3Error, S3ErrorCode
from gateway.xml.acl import MAX_GRANTS, AccessControlPolicy
from gateway.xml.codec import S3_NS, parse, render
from gateway.xml.models import Owner
from tests.support.botocore_xml import botocore_parse

NS = f'xmlns="{S3_NS}"'
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
ALICE = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
BOB = "e2f1a8b0f8f9a0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5"
OWNER = Owner(ALICE, "alice")


def _canonical(xml: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    return etree.tostring(etree.fromstring(xml, parser), method="c14n")


def _user(cid: str, name: str | None = None) -> Grantee:
    return Grantee(GranteeType.CANONICAL_USER, cid, name)


CASES: list[tuple[AccessControlPolicy, bytes]] = [
    (
        AccessControlPolicy(OWNER, (Grant(_user(ALICE, "alice"), Permission.FULL_CONTROL),)),
        f"""
        <AccessControlPolicy {NS}>
          <Owner><ID>{ALICE}</ID><DisplayName>alice</DisplayName></Owner>
          <AccessControlList>
            <Grant>
              <Grantee {XSI} xsi:type="CanonicalUser">
                <ID>{ALICE}</ID><DisplayName>alice</DisplayName>
              </Grantee>
              <Permission>FULL_CONTROL</Permission>
            </Grant>
          </AccessControlList>
        </AccessControlPolicy>""".encode(),
    ),
    (
        AccessControlPolicy(
            OWNER,
            (
                Grant(_user(ALICE, "alice"), Permission.FULL_CONTROL),
                Grant(Grantee(GranteeType.GROUP, ALL_USERS), Permission.READ),
                Grant(Grantee(GranteeType.GROUP, AUTHENTICATED_USERS), Permission.WRITE_ACP),
                Grant(_user(BOB), Permission.READ_ACP),
                Grant(Grantee(GranteeType.EMAIL, "bob@example.com"), Permission.WRITE),
            ),
        ),
        f"""
        <AccessControlPolicy {NS}>
          <Owner><ID>{ALICE}</ID><DisplayName>alice</DisplayName></Owner>
          <AccessControlList>
            <Grant>
              <Grantee {XSI} xsi:type="CanonicalUser">
                <ID>{ALICE}</ID><DisplayName>alice</DisplayName>
              </Grantee>
              <Permission>FULL_CONTROL</Permission>
            </Grant>
            <Grant>
              <Grantee {XSI} xsi:type="Group"><URI>{ALL_USERS}</URI></Grantee>
              <Permission>READ</Permission>
            </Grant>
            <Grant>
              <Grantee {XSI} xsi:type="Group"><URI>{AUTHENTICATED_USERS}</URI></Grantee>
              <Permission>WRITE_ACP</Permission>
            </Grant>
            <Grant>
              <Grantee {XSI} xsi:type="CanonicalUser"><ID>{BOB}</ID></Grantee>
              <Permission>READ_ACP</Permission>
            </Grant>
            <Grant>
              <Grantee {XSI} xsi:type="AmazonCustomerByEmail">
                <EmailAddress>bob@example.com</EmailAddress>
              </Grantee>
              <Permission>WRITE</Permission>
            </Grant>
          </AccessControlList>
        </AccessControlPolicy>""".encode(),
    ),
    (
        AccessControlPolicy(OWNER, ()),
        f"""<AccessControlPolicy {NS}>
          <Owner><ID>{ALICE}</ID><DisplayName>alice</DisplayName></Owner>
          <AccessControlList/>
        </AccessControlPolicy>""".encode(),
    ),
]


@pytest.mark.parametrize(("model", "xml"), CASES)
def test_render(model: AccessControlPolicy, xml: bytes) -> None:
    assert _canonical(render(model)) == _canonical(xml)


@pytest.mark.parametrize(("model", "xml"), CASES)
def test_parse(model: AccessControlPolicy, xml: bytes) -> None:
    assert parse(AccessControlPolicy, xml) == model


def test_parse_without_namespaces_or_display_names() -> None:
    """What hand-written bodies look like: no S3 namespace, no DisplayName, an xsi prefix
    bound to the right namespace under another name."""
    body = f"""<AccessControlPolicy>
      <Owner><ID> {ALICE} </ID></Owner>
      <AccessControlList>
        <Grant>
          <Grantee xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:type="Group">
            <URI>{ALL_USERS}</URI>
          </Grantee>
          <Permission>READ</Permission>
        </Grant>
      </AccessControlList>
    </AccessControlPolicy>""".encode()
    assert parse(AccessControlPolicy, body) == AccessControlPolicy(
        Owner(ALICE, ""), (Grant(Grantee(GranteeType.GROUP, ALL_USERS), Permission.READ),)
    )


def _policy(grants: str, owner: str = f"<Owner><ID>{ALICE}</ID></Owner>") -> bytes:
    return (
        f"<AccessControlPolicy {NS}>{owner}<AccessControlList>{grants}"
        "</AccessControlList></AccessControlPolicy>"
    ).encode()


def _grant(grantee: str, permission: str = "READ", kind: str = "CanonicalUser") -> str:
    return (
        f'<Grant><Grantee {XSI} xsi:type="{kind}">{grantee}</Grantee>'
        f"<Permission>{permission}</Permission></Grant>"
    )


MALFORMED_ACL: list[bytes] = [
    _policy("", owner=""),  # no Owner
    _policy("", owner="<Owner><DisplayName>a</DisplayName></Owner>"),  # Owner without ID
    _policy("", owner="<Owner><ID></ID></Owner>"),
    _policy(_grant(f"<ID>{BOB}</ID>", permission="ALL")),
    _policy(_grant(f"<ID>{BOB}</ID>", permission="read")),
    _policy(_grant(f"<ID>{BOB}</ID>", kind="Account")),
    _policy(f"<Grant><Grantee><ID>{BOB}</ID></Grantee><Permission>READ</Permission></Grant>"),
    _policy(_grant(f"<URI>{ALL_USERS}</URI>")),  # a CanonicalUser needs its ID
    _policy(_grant("<ID></ID>")),
    _policy("<Grant><Permission>READ</Permission></Grant>"),
    _policy(_grant(f"<ID>{BOB}</ID>").replace("<Permission>READ</Permission>", "")),
    _policy(_grant(f"<ID>{BOB}</ID><ID>{ALICE}</ID>")),
    _policy(_grant(f"<ID>{BOB}</ID>") * (MAX_GRANTS + 1)),
]


@pytest.mark.parametrize("xml", MALFORMED_ACL)
def test_parse_malformed_acl(xml: bytes) -> None:
    with pytest.raises(S3Error) as err:
        parse(AccessControlPolicy, xml)
    assert err.value.code is S3ErrorCode.MALFORMED_ACL_ERROR


def test_max_grants_accepted() -> None:
    parsed = parse(AccessControlPolicy, _policy(_grant(f"<ID>{BOB}</ID>") * MAX_GRANTS))
    assert len(parsed.grants) == MAX_GRANTS


@pytest.mark.parametrize("xml", [b"not xml", b"<Other/>", b"<AccessControlPolicy>"])
def test_parse_malformed_xml(xml: bytes) -> None:
    with pytest.raises(S3Error) as err:
        parse(AccessControlPolicy, xml)
    assert err.value.code is S3ErrorCode.MALFORMED_XML


def test_unknown_group_is_invalid_argument() -> None:
    xml = _policy(_grant("<URI>http://acs.amazonaws.com/groups/global/Nobody</URI>", kind="Group"))
    with pytest.raises(S3Error) as err:
        parse(AccessControlPolicy, xml)
    assert err.value.code is S3ErrorCode.INVALID_ARGUMENT


def test_botocore_get_bucket_acl() -> None:
    parsed = botocore_parse("GetBucketAcl", render(CASES[1][0]))
    assert parsed["Owner"] == {"ID": ALICE, "DisplayName": "alice"}
    assert parsed["Grants"] == [
        {
            "Grantee": {"ID": ALICE, "DisplayName": "alice", "Type": "CanonicalUser"},
            "Permission": "FULL_CONTROL",
        },
        {"Grantee": {"URI": ALL_USERS, "Type": "Group"}, "Permission": "READ"},
        {"Grantee": {"URI": AUTHENTICATED_USERS, "Type": "Group"}, "Permission": "WRITE_ACP"},
        {"Grantee": {"ID": BOB, "Type": "CanonicalUser"}, "Permission": "READ_ACP"},
        {
            "Grantee": {"EmailAddress": "bob@example.com", "Type": "AmazonCustomerByEmail"},
            "Permission": "WRITE",
        },
    ]
