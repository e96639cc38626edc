"""gateway/console/iam_signing.py: the body and headers it signs are what botocore (an
implementation independent of ours) signs for the same IAM call, and only IAM actions
are signed."""

from __future__ import annotations

import hashlib

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway.console.iam_signing import form_body, signed_iam_call
from gateway.errors import S3Error

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE+/=="])
def test_headers_match_botocore(token: str | None) -> None:
    params = {"UserName": "bob", "PolicyDocument": '{"Version": "2012-10-17", "x": "é &="}'}
    call = signed_iam_call(
        "PutUserPolicy",
        params,
        host="127.0.0.1:7373",
        access_key="AKID",
        secret_key="SECRET",
        region="us-east-1",
        now=NOW,
        session_token=token,
    )
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:7373/",
        data=call.body.encode(),
        headers={"X-Amz-Date": call.headers["X-Amz-Date"]},
    )
    auth = SigV4Auth(Credentials("AKID", "SECRET", token), "iam", "us-east-1")
    request.context["timestamp"] = call.headers["X-Amz-Date"]
    request.headers["Host"] = "127.0.0.1:7373"
    if token:
        request.headers["X-Amz-Security-Token"] = token
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    assert call.headers["Authorization"].endswith(f"Signature={signature}")
    assert canonical.endswith(hashlib.sha256(call.body.encode()).hexdigest())
    assert call.headers["Content-Type"].startswith("application/x-www-form-urlencoded")


def test_form_body_is_the_sdk_form() -> None:
    body = form_body("CreateUser", {"UserName": "a b", "Path": "/x/"})
    assert body == "Action=CreateUser&Version=2010-05-08&Path=%2Fx%2F&UserName=a+b"


@pytest.mark.parametrize(
    ("action", "params"),
    [("AssumeRole", {}), ("GetCallerIdentity", {}), ("ListUsers", {"Version": "2011-01-01"})],
)
def test_only_iam_actions_are_signed(action: str, params: dict[str, str]) -> None:
    with pytest.raises(S3Error):
        form_body(action, params)
