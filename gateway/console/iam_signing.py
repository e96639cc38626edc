"""IAM query API requests the console may have signed for its session's key.

The console's IAM pages (static/js/iam.js) ask for one IAM action at a time with its
parameters; the server answers with a form body and the SigV4 headers that sign it for
the signed-in key (scope service "iam"), and the browser posts that body to the endpoint
itself. auth/iam/endpoint.py then authenticates and authorizes it exactly as a call from
the AWS CLI: the console can never do more in IAM than its keys can. The body is signed
by its hash rather than put in a presigned URL because policy documents can be longer
than a URL may be. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from auth.iam.form import FORM_CONTENT_TYPE
from auth.iam.operations import IAM_API
from auth.presign import sign_headers_v4
from gateway.errors import S3Error, S3ErrorCode

MAX_PARAMS = 64


@dataclass(frozen=True)
class SignedIamCall:
    method: str
    url: str
    headers: Mapping[str, str]  # the browser sends these exactly
    body: str  # ... and this body, byte for byte (ASCII: the form is percent-encoded)


def form_body(action: str, params: Mapping[str, str]) -> str:
    """`Action=...&Version=...&<params>`: the body the SDKs post. InvalidArgument for an
    action the IAM API does not have (never STS: the console's STS use is sso.py's)."""
    if action not in IAM_API.operations:
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, f"The console does not call iam:{action}")
    if len(params) > MAX_PARAMS or any(k in ("Action", "Version") for k in params):
        raise S3Error(S3ErrorCode.INVALID_ARGUMENT, "'params' names the action's inputs only")
    pairs = [("Action", action), ("Version", IAM_API.version), *sorted(params.items())]
    return urlencode(pairs)


def signed_iam_call(
    action: str,
    params: Mapping[str, str],
    *,
    host: str,
    access_key: str,
    secret_key: str,
    region: str,
    now: float,
    session_token: str | None = None,
) -> SignedIamCall:
    body = form_body(action, params)
    headers = sign_headers_v4(
        method="POST",
        host=host,
        raw_path="/",
        query=(),
        body=body.encode("ascii"),
        access_key=access_key,
        secret_key=secret_key,
        region=region,
        service=IAM_API.service,
        now=now,
        session_token=session_token,
    )
    headers["Content-Type"] = f"{FORM_CONTENT_TYPE}; charset=utf-8"
    return SignedIamCall("POST", "/", headers, body)
