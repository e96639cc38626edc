"""auth/iam/form.py: form decoding, parameter validation, policy document checks."""

from __future__ import annotations

import json

import pytest

from auth.iam.errors import IamError, IamErrorCode
from auth.iam.form import MAX_FORM_BYTES, Params, check_policy_document, decode_form


def test_decode_form_plus_is_space_and_percent_escapes() -> None:
    pairs = decode_form(b"Action=PutUserPolicy&PolicyDocument=%7B%22a%22%3A+1%7D&Empty=")
    assert pairs == [("Action", "PutUserPolicy"), ("PolicyDocument", '{"a": 1}'), ("Empty", "")]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"x" * (MAX_FORM_BYTES + 1), IamErrorCode.REQUEST_ENTITY_TOO_LARGE),
        ("Action=é".encode(), IamErrorCode.INVALID_INPUT),
        (b"UserName=%FF", IamErrorCode.INVALID_INPUT),
    ],
)
def test_decode_form_refuses(body: bytes, code: IamErrorCode) -> None:
    with pytest.raises(IamError) as exc:
        decode_form(body)
    assert exc.value.code is code


def test_params_body_wins_and_signature_parameters_are_dropped() -> None:
    params = Params.of([("Action", "ListUsers"), ("X-Amz-Signature", "s")], [("Action", "GetUser")])
    assert params.get("Action") == "GetUser"
    assert params.get("X-Amz-Signature") is None


@pytest.mark.parametrize(
    ("values", "check"),
    [
        ({}, lambda p: p.user_name()),
        ({"UserName": ""}, lambda p: p.user_name()),
        ({"UserName": "a" * 65}, lambda p: p.user_name()),
        ({"UserName": "a/b"}, lambda p: p.user_name()),
        ({"GroupName": "g" * 129}, lambda p: p.name("GroupName")),
        ({"Path": "team"}, lambda p: p.path()),
        ({"Path": "/team"}, lambda p: p.path()),
        ({"PathPrefix": "team/"}, lambda p: p.path_prefix()),
        ({"MaxItems": "0"}, lambda p: p.max_items()),
        ({"MaxItems": "1001"}, lambda p: p.max_items()),
        ({"MaxItems": "ten"}, lambda p: p.max_items()),
        ({"MaxItems": "9" * 400}, lambda p: p.max_items()),
        ({"Status": "active"}, lambda p: p.status()),
        ({"AccessKeyId": "short"}, lambda p: p.access_key_id()),
        ({"OnlyAttached": "yes"}, lambda p: p.flag("OnlyAttached")),
    ],
)
def test_invalid_parameters_are_validation_errors(values: dict[str, str], check: object) -> None:
    with pytest.raises(IamError) as exc:
        check(Params(values))  # type: ignore[operator]
    assert exc.value.code is IamErrorCode.VALIDATION_ERROR
    assert exc.value.status == 400


def test_valid_parameters() -> None:
    params = Params(
        {
            "UserName": "a.b+c=d,e@f-g_h",
            "Path": "/a/b/",
            "MaxItems": "1000",
            "Status": "Inactive",
            "AccessKeyId": "KV0123456789ABCDEFGH",
        }
    )
    assert params.user_name() == "a.b+c=d,e@f-g_h"
    assert (params.path(), params.path_prefix(), params.marker()) == ("/a/b/", "/", "")
    assert (params.max_items(), params.status(), params.flag("OnlyAttached")) == (
        1000,
        False,
        False,
    )
    assert params.access_key_id() == "KV0123456789ABCDEFGH"
    assert Params({}).max_items() == 100


def test_policy_documents() -> None:
    good = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
            ],
        }
    )
    assert check_policy_document(good, 2048) == good
    with pytest.raises(IamError) as exc:
        check_policy_document('{"Statement": []}', 2048)
    assert exc.value.code is IamErrorCode.MALFORMED_POLICY_DOCUMENT
    with pytest.raises(IamError) as exc:
        check_policy_document(good.replace("b/*", "b/" + "x" * 3000), 2048)
    assert exc.value.code is IamErrorCode.LIMIT_EXCEEDED
