"""A client for share links: the JSON API (/_kv/shares, SigV4-signed by botocore, an
implementation independent of ours) and plain downloads of /s/TOKEN."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _send(request: urllib.request.Request, context: ssl.SSLContext | None) -> Answer:
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as reply:
            headers = {k.lower(): v for k, v in reply.headers.items()}
            return Answer(reply.status, headers, reply.read())
    except urllib.error.HTTPError as error:
        headers = {k.lower(): v for k, v in error.headers.items()}
        return Answer(error.code, headers, error.read())


def api(
    endpoint: str,
    method: str,
    path: str,
    *,
    keys: tuple[str, str] | None,
    payload: Any = None,
    region: str = "us-east-1",
    context: ssl.SSLContext | None = None,
) -> Answer:
    """`method endpoint+path` with `payload` as JSON, signed with `keys` (None: anonymous)."""
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    request = AWSRequest(method=method, url=endpoint + path, data=body, headers=headers)
    if keys is not None:
        S3SigV4Auth(Credentials(*keys), "s3", region).add_auth(request)
    prepared = request.prepare()
    out = urllib.request.Request(
        prepared.url, data=body or None, method=method, headers=dict(prepared.headers.items())
    )
    return _send(out, context)


def download(
    endpoint: str,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> Answer:
    """An anonymous request for a share link path (/s/TOKEN)."""
    request = urllib.request.Request(endpoint + path, method=method, headers=headers or {})
    return _send(request, context)
