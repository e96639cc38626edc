"""auth/iam/render.py and auth/iam/shapes.py: response and error documents, ARNs."""

from __future__ import annotations

import pytest
from lxml import etree

from auth.iam.errors import IamError, IamErrorCode
from auth.iam.render import IAM_NAMESPACE, STS_NAMESPACE, render_error, render_response
from auth.iam.shapes import encode_document, page_tail, parse_policy_arn, user_shape
from gateway.meta.base import IamUser

NS = "{" + IAM_NAMESPACE + "}"


def test_response_with_result() -> None:
    user = IamUser("alice", "bob", "AIDAX", "/t/", 0.0)
    doc = etree.fromstring(
        render_response(
            "CreateUser", IAM_NAMESPACE, [("User", user_shape(user, "123456789012"))], "r1"
        )
    )
    assert doc.tag == f"{NS}CreateUserResponse"
    assert doc.findtext(f"{NS}CreateUserResult/{NS}User/{NS}Arn") == (
        "arn:aws:iam::123456789012:user/t/bob"
    )
    assert doc.findtext(f"{NS}CreateUserResult/{NS}User/{NS}CreateDate") == "1970-01-01T00:00:00Z"
    assert doc.findtext(f"{NS}ResponseMetadata/{NS}RequestId") == "r1"


def test_response_without_result_and_lists() -> None:
    doc = etree.fromstring(render_response("DeleteUser", IAM_NAMESPACE, None, "r2"))
    assert [child.tag for child in doc] == [f"{NS}ResponseMetadata"]
    listed = etree.fromstring(
        render_response(
            "ListUserPolicies",
            IAM_NAMESPACE,
            [("PolicyNames", [("member", "a"), ("member", "b")]), *page_tail(True, "b")],
            "r3",
        )
    )
    result = listed.find(f"{NS}ListUserPoliciesResult")
    assert result is not None
    assert [m.text for m in result.iterfind(f"{NS}PolicyNames/{NS}member")] == ["a", "b"]
    assert (result.findtext(f"{NS}IsTruncated"), result.findtext(f"{NS}Marker")) == ("true", "b")
    untruncated = dict(page_tail(False, "b"))
    assert untruncated == {"IsTruncated": "false", "Marker": None}  # Marker left out


@pytest.mark.parametrize("namespace", [IAM_NAMESPACE, STS_NAMESPACE])
def test_error_document(namespace: str) -> None:
    err = IamError(IamErrorCode.DELETE_CONFLICT, "must delete <keys> first")
    doc = etree.fromstring(render_error(err, namespace, "r4"))
    ns = "{" + namespace + "}"
    assert doc.tag == f"{ns}ErrorResponse"
    assert [doc.findtext(f"{ns}Error/{ns}{n}") for n in ("Type", "Code", "Message")] == [
        "Sender",
        "DeleteConflict",
        "must delete <keys> first",
    ]
    assert doc.findtext(f"{ns}RequestId") == "r4"
    assert err.status == 409


@pytest.mark.parametrize(
    ("code", "status", "fault"),
    [
        (IamErrorCode.NO_SUCH_ENTITY, 404, "Sender"),
        (IamErrorCode.ENTITY_ALREADY_EXISTS, 409, "Sender"),
        (IamErrorCode.LIMIT_EXCEEDED, 409, "Sender"),
        (IamErrorCode.MALFORMED_POLICY_DOCUMENT, 400, "Sender"),
        (IamErrorCode.ACCESS_DENIED, 403, "Sender"),
        (IamErrorCode.INVALID_ACTION, 400, "Sender"),
        (IamErrorCode.INTERNAL_FAILURE, 500, "Receiver"),
    ],
)
def test_error_statuses(code: IamErrorCode, status: int, fault: str) -> None:
    assert (code.status, code.fault) == (status, fault)


def test_policy_documents_are_url_encoded() -> None:
    assert encode_document('{"A": "b c/*"}') == "%7B%22A%22%3A%20%22b%20c%2F%2A%22%7D"


def test_parse_policy_arn() -> None:
    assert parse_policy_arn("arn:aws:iam::123456789012:policy/team/Read", "123456789012") == "Read"
    with pytest.raises(IamError) as exc:
        parse_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess", "123456789012")
    assert exc.value.code is IamErrorCode.NO_SUCH_ENTITY
    with pytest.raises(IamError) as exc:
        parse_policy_arn("arn:aws:iam::999999999999:policy/Read", "123456789012")
    assert exc.value.code is IamErrorCode.NO_SUCH_ENTITY
    with pytest.raises(IamError) as exc:
        parse_policy_arn("not-an-arn", "123456789012")
    assert exc.value.code is IamErrorCode.INVALID_INPUT
