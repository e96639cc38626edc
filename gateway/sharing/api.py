"""The console's JSON API for share links, under /_kv/shares (gateway/sharing/paths.py).

Requests are signed like any S3 request with the caller's own keys (gateway/json_api.py);
anonymous ones are refused.

    POST   /_kv/shares        {"bucket", "key", "versionId"?, "expires": "7d" | seconds,
                               "maxDownloads"?}  -> 201 the link, with "token" and "url"
                               (the only time the token is ever shown)
    GET    /_kv/shares        -> 200 {"shares": [link, ...]}, newest first
    DELETE /_kv/shares/<id>   -> 200 the link, revoked; 404 if there is none

An account's own key sees and revokes every link of its account; an IAM user only its
own. Creating needs s3:GetObject (s3:GetObjectVersion with "versionId") on the object.
Errors are JSON too: {"error": {"code", "message"}, "requestId"}, with the S3 status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from auth.credentials import Principal
from gateway.body import RequestBody
from gateway.context import Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.json_api import Answer, SignedCall, read_body, serve_signed
from gateway.meta.base import IamIdentity, ShareLink
from gateway.sharing.links import Caller, Creator, create_link, read_access
from gateway.sharing.paths import API_PATH, download_path
from gateway.sharing.tokens import is_link_id, parse_duration

UNSIGNED = "Share links need a signed request."


def link_json(link: ShareLink, now: float) -> dict[str, Any]:
    return {
        "id": link.link_id,
        "bucket": link.bucket,
        "key": link.key,
        "versionId": link.version_id,
        "createdBy": link.iam_user or link.account,
        "account": link.account,
        "created": link.created,
        "expires": link.expires,
        "maxDownloads": link.max_downloads,
        "downloads": link.downloads,
        "state": link.state(now),
    }


async def serve_api(
    request: web.Request,
    services: Services,
    raw_path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
) -> web.StreamResponse:
    async def answer(call: SignedCall) -> Answer:
        rest = raw_path[len(API_PATH) :]
        return await answer_as(
            request, services, call.principal, call.identity, call.body, headers, rest
        )

    return await serve_signed(
        request, services, raw_path, pairs, headers, unsigned=UNSIGNED, answer=answer
    )


async def answer_as(
    request: web.Request,
    services: Services,
    principal: Principal,
    identity: IamIdentity | None,
    body: RequestBody,
    headers: Mapping[str, str],
    rest: str,
) -> Answer:
    """The answer to `request` on `API_PATH + rest` from an authenticated `principal`
    (also the web console's, gateway/console/api.py, as its signed-in key)."""
    now = services.clock()
    if rest in ("", "/"):
        if request.method == "POST":
            return 201, await _create(request, services, principal, identity, body, headers)
        if request.method == "GET":
            await body.drain()
            found = await services.meta.list_share_links(_account(principal), principal.iam_user)
            return 200, {"shares": [link_json(link, now) for link in found]}
    elif request.method == "DELETE" and is_link_id(rest[1:]) and rest.startswith("/"):
        await body.drain()
        revoked = await services.meta.revoke_share_link(
            _account(principal), rest[1:], principal.iam_user
        )
        if revoked is None:
            raise S3Error(S3ErrorCode.NO_SUCH_SHARE_LINK)
        return 200, link_json(revoked, now)
    elif rest.startswith("/") and request.method == "DELETE":
        raise S3Error(S3ErrorCode.NO_SUCH_SHARE_LINK)
    raise S3Error(S3ErrorCode.METHOD_NOT_ALLOWED, Method=request.method, ResourceType="shares")


def _account(principal: Principal) -> str:
    assert principal.user is not None, "signed requests have an account"
    return principal.user


async def _create(
    request: web.Request,
    services: Services,
    principal: Principal,
    identity: IamIdentity | None,
    body: RequestBody,
    headers: Mapping[str, str],
) -> dict[str, Any]:
    fields = _fields(await read_body(body))
    now = services.clock()
    creator = Creator(principal, identity)
    caller = Caller(headers, request.remote or "", request.secure, now)
    access = read_access(
        services.meta,
        services.access_cache,
        creator,
        fields.bucket,
        fields.key,
        fields.version_id,
        caller,
        trusted=services.trusted_proxies,
    )
    bucket = await services.meta.get_bucket(fields.bucket)
    made = await create_link(
        access,
        bucket,
        creator,
        expires_in=fields.expires_in,
        max_downloads=fields.max_downloads,
    )
    path = download_path(made.token)
    return {
        **link_json(made.link, now),
        "token": made.token,
        "path": path,
        "url": f"{request.scheme}://{request.host}{path}",
    }


@dataclass(frozen=True)
class _Fields:
    bucket: str
    key: str
    version_id: str | None
    expires_in: int
    max_downloads: int | None


def _bad(message: str) -> S3Error:
    return S3Error(S3ErrorCode.INVALID_ARGUMENT, message)


def _fields(raw: bytes) -> _Fields:
    """The POST body, validated: InvalidArgument names what is wrong."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad("The request body is not a JSON object") from exc
    if not isinstance(data, dict):
        raise _bad("The request body is not a JSON object")
    unknown = set(data) - {"bucket", "key", "versionId", "expires", "maxDownloads"}
    if unknown:
        raise _bad(f"Unknown field {sorted(unknown)[0]!r}")
    bucket, key, version_id = data.get("bucket"), data.get("key"), data.get("versionId")
    if not isinstance(bucket, str) or not bucket:
        raise _bad("'bucket' must be a bucket name")
    if not isinstance(key, str) or not key:
        raise _bad("'key' must be an object key")
    if version_id is not None and (not isinstance(version_id, str) or not version_id):
        raise _bad("'versionId' must be a version id")
    expires = data.get("expires")
    if isinstance(expires, bool) or not isinstance(expires, (str, int)):
        raise _bad("'expires' must be a duration such as \"7d\" or a number of seconds")
    try:
        expires_in = parse_duration(str(expires))
    except ValueError as exc:
        raise _bad(str(exc)) from exc
    max_downloads = data.get("maxDownloads")
    if max_downloads is not None and (
        isinstance(max_downloads, bool) or not isinstance(max_downloads, int) or max_downloads < 1
    ):
        raise _bad("'maxDownloads' must be a positive integer")
    return _Fields(bucket, key, version_id, expires_in, max_downloads)
