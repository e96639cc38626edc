"""XML of ACLs (AccessControlPolicy), registered with gateway.xml.codec (importing this
module registers it); the ACL model and its rules are auth.policy.acl's.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html (response) and
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html (request body):

    <AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
      <Owner><ID>canonical id</ID><DisplayName>name</DisplayName></Owner>
      <AccessControlList>
        <Grant>
          <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                   xsi:type="CanonicalUser|Group|AmazonCustomerByEmail">
            <ID>..</ID><DisplayName>..</DisplayName> | <URI>..</URI> | <EmailAddress>..
          </Grantee>
          <Permission>FULL_CONTROL|WRITE|WRITE_ACP|READ|READ_ACP</Permission>
        </Grant>
      </AccessControlList>
    </AccessControlPolicy>

A body that is XML but not such a document is MalformedACLError (S3's answer), not
MalformedXML; a group URI S3 does not know is InvalidArgument.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from auth.policy.acl import GROUPS, Grant, Grantee, GranteeType, Permission
from gateway.errors import S3Error, S3ErrorCode
from gateway.xml.codec import (
    S3_NS,
    XSI_NS,
    Element,
    _add,
    _children,
    _owner,
    _root,
    parses,
    renders,
)
from gateway.xml.models import Owner
from gateway.xml.safe import local_name

# "An ACL can have up to 100 grants" (acl-overview.html).
MAX_GRANTS = 100
_XSI_TYPE = f"{{{XSI_NS}}}type"
# The element naming each kind of grantee.
_VALUE_ELEMENT = {
    GranteeType.CANONICAL_USER: "ID",
    GranteeType.GROUP: "URI",
    GranteeType.EMAIL: "EmailAddress",
}


@dataclass(frozen=True)
class AccessControlPolicy:
    owner: Owner
    grants: tuple[Grant, ...]


def _malformed_acl() -> S3Error:
    return S3Error(S3ErrorCode.MALFORMED_ACL_ERROR)


@renders(AccessControlPolicy)
def _render_access_control_policy(model: AccessControlPolicy) -> Element:
    root = _root("AccessControlPolicy")
    _owner(root, model.owner)
    acl = _add(root, "AccessControlList")
    for grant in model.grants:
        el = _add(acl, "Grant")
        grantee = etree.SubElement(el, f"{{{S3_NS}}}Grantee", nsmap={"xsi": XSI_NS})
        grantee.set(_XSI_TYPE, grant.grantee.type.value)
        _add(grantee, _VALUE_ELEMENT[grant.grantee.type], grant.grantee.value)
        if grant.grantee.display_name is not None:
            _add(grantee, "DisplayName", grant.grantee.display_name)
        _add(el, "Permission", grant.permission.value)
    return root


def _one_text(parent: Element, name: str, *, required: bool) -> str | None:
    """The stripped text of the one `name` child; None when absent (MalformedACLError
    when required, or repeated)."""
    found = _children(parent, name)
    if len(found) > 1 or (required and not found):
        raise _malformed_acl()
    return (found[0].text or "").strip() if found else None


def _grantee_type(el: Element) -> GranteeType:
    # Clients declare the xsi prefix; without the declaration libxml2 keeps the raw name.
    raw = el.get(_XSI_TYPE) or el.get("xsi:type") or el.get("type")
    try:
        return GranteeType(raw)
    except ValueError:
        raise _malformed_acl() from None


def _parse_grantee(el: Element) -> Grantee:
    kind = _grantee_type(el)
    value = _one_text(el, _VALUE_ELEMENT[kind], required=True)
    assert value is not None
    if not value:
        raise _malformed_acl()
    if kind is GranteeType.GROUP and value not in GROUPS:
        raise S3Error(
            S3ErrorCode.INVALID_ARGUMENT,
            "Invalid group uri",
            ArgumentName="uri",
            ArgumentValue=value,
        )
    name = None
    if kind is GranteeType.CANONICAL_USER:
        name = _one_text(el, "DisplayName", required=False)
    return Grantee(kind, value, name)


def _parse_grant(el: Element) -> Grant:
    grantees = _children(el, "Grantee")
    if len(grantees) != 1:
        raise _malformed_acl()
    permission = _one_text(el, "Permission", required=True)
    try:
        return Grant(_parse_grantee(grantees[0]), Permission(permission))
    except ValueError:
        raise _malformed_acl() from None


@parses(AccessControlPolicy, "AccessControlPolicy")
def _parse_access_control_policy(root: Element) -> AccessControlPolicy:
    owners = _children(root, "Owner")
    lists = _children(root, "AccessControlList")
    if len(owners) != 1 or len(lists) > 1:
        raise _malformed_acl()
    owner_id = _one_text(owners[0], "ID", required=True)
    if not owner_id:
        raise _malformed_acl()
    display = _one_text(owners[0], "DisplayName", required=False) or ""
    grant_elements = [el for el in lists[0] if local_name(el) == "Grant"] if lists else []
    if len(grant_elements) > MAX_GRANTS:
        raise _malformed_acl()
    grants = tuple(_parse_grant(el) for el in grant_elements)
    return AccessControlPolicy(Owner(owner_id, display), grants)
