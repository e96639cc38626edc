"""Which requests belong to the IAM and STS query APIs rather than to S3. Pure.

They share the S3 endpoint and tell themselves apart by the SigV4 credential scope
(`AKID/20240101/us-east-1/iam/aws4_request`, header or presigned query). An unsigned
request is theirs when it can only be one: on "/" with an Action parameter, or a form
POST to "/" (S3 has no such request); it is then refused as the query API refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from auth.iam.form import FORM_CONTENT_TYPE

QUERY_SERVICES = frozenset({"iam", "sts"})
_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")


def _scope_service(credential: str) -> str | None:
    parts = credential.rsplit("/", 4)
    return parts[3] if len(parts) == 5 else None


def query_api_service(
    method: str, raw_path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str]
) -> str | None:
    """ "iam" or "sts" when the request is for that query API; None: an S3 request."""
    authorization = headers.get("authorization", "").strip()
    if authorization.startswith("AWS4-HMAC-SHA256 "):
        found = _CREDENTIAL.search(authorization)
        service = _scope_service(found.group(1)) if found else None
        return service if service in QUERY_SERVICES else None
    names = {name for name, _ in query}
    if "X-Amz-Credential" in names:
        credential = next(value for name, value in query if name == "X-Amz-Credential")
        service = _scope_service(credential)
        return service if service in QUERY_SERVICES else None
    if authorization or names & {"AWSAccessKeyId", "Signature"} or raw_path != "/":
        return None
    form = headers.get("content-type", "").lower().startswith(FORM_CONTENT_TYPE)
    if "Action" in names or (method == "POST" and form):
        return "iam"
    return None
