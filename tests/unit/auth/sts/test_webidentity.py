"""auth/sts/webidentity.py's pure checks: the token's issuer, claims and condition keys."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from auth.iam.errors import IamError, IamErrorCode
from auth.sts.webidentity import check_claims, claim_keys, unverified_issuer

ISSUER = "https://idp.example.com"
NOW = 1_700_000_000.0
GOOD = {"iss": ISSUER, "aud": "app", "sub": "alice", "exp": NOW + 300, "iat": NOW - 10}


def segment(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_unverified_issuer() -> None:
    token = f"{segment({'alg': 'RS256'})}.{segment(GOOD)}.sig"
    assert unverified_issuer(token) == ISSUER
    for bad in ("not-a-jwt", f"{segment({})}.{segment({'sub': 'x'})}.s", "a.%%%.c"):
        with pytest.raises(IamError) as exc:
            unverified_issuer(bad)
        assert exc.value.code is IamErrorCode.INVALID_IDENTITY_TOKEN


def test_good_claims_pass() -> None:
    check_claims(GOOD, ISSUER, ["app"], NOW)
    check_claims({**GOOD, "aud": ["other", "app"]}, ISSUER, ["app"], NOW)
    check_claims({**GOOD, "nbf": NOW + 30}, ISSUER, ["app"], NOW)  # within the leeway


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"iss": "https://evil.example.com"}, IamErrorCode.INVALID_IDENTITY_TOKEN),
        ({"aud": "someone-else"}, IamErrorCode.INVALID_IDENTITY_TOKEN),
        ({"aud": None}, IamErrorCode.INVALID_IDENTITY_TOKEN),
        ({"exp": NOW - 1}, IamErrorCode.EXPIRED_TOKEN_EXCEPTION),
        ({"exp": NOW}, IamErrorCode.EXPIRED_TOKEN_EXCEPTION),
        ({"exp": None}, IamErrorCode.INVALID_IDENTITY_TOKEN),
        ({"exp": "soon"}, IamErrorCode.INVALID_IDENTITY_TOKEN),
        ({"nbf": NOW + 3600}, IamErrorCode.INVALID_IDENTITY_TOKEN),
        ({"iat": NOW + 3600}, IamErrorCode.INVALID_IDENTITY_TOKEN),
        ({"iat": None}, IamErrorCode.INVALID_IDENTITY_TOKEN),
        ({"sub": ""}, IamErrorCode.INVALID_IDENTITY_TOKEN),
    ],
)
def test_bad_claims_are_refused(change: dict[str, Any], code: IamErrorCode) -> None:
    claims = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(IamError) as exc:
        check_claims(claims, ISSUER, ["app"], NOW)
    assert exc.value.code is code


def test_claim_keys() -> None:
    keys = claim_keys("idp.example.com", {**GOOD, "groups": ["dev", "ops"], "n": 3})
    assert keys["idp.example.com:sub"] == ("alice",)
    assert keys["idp.example.com:aud"] == ("app",)
    assert keys["idp.example.com:groups"] == ("dev", "ops")
    assert "idp.example.com:n" not in keys
    # With an authorized party, :aud is the azp (IAM's rule for several audiences).
    with_azp = claim_keys("idp.example.com", {**GOOD, "aud": ["a", "b"], "azp": "b"})
    assert with_azp["idp.example.com:aud"] == ("b",)
