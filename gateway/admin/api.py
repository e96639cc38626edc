"""The admin JSON API under /_kv/admin (paths.py): accounts, their keys, quotas, usage.

    GET    /accounts                   -> {"accounts": [{"name", "accountId", "isRoot",
                                           "email", "created", "keys": [...]}]}
    POST   /accounts                   {"name", "email"?} -> 201 {"name", "accessKey",
                                           "secretKey"} (the only time the secret is shown)
    DELETE /accounts/<name>            -> 200; AccountNotEmpty while it owns buckets
    POST   /accounts/<name>/keys       -> 201 {"accessKey", "secretKey"} (shown once)
    PATCH  /accounts/<name>/keys/<ak>  {"active": bool} -> 200: deactivate (refused like an
                                       unknown key) or activate it again
    DELETE /accounts/<name>/keys/<ak>  -> 200
    GET    /usage                      -> {"buckets": [...], "accounts": [...]} (usage.py)
    GET    /quotas/<bucket|account>/<name>  -> {"quota": {...} | null, "objects", "bytes"}
    PUT    /quotas/<bucket|account>/<name>  {"maxBytes"?, "maxObjects"?}: set (replace)
    DELETE /quotas/<bucket|account>/<name>  remove it

Signed like any S3 request (gateway/json_api.py, as /_kv/shares) or called by the web
console as its session's principal (gateway/console/api.py); either way answer_as()
decides with the one rule, is_admin(). Errors are {"error": {"code", "message"},
"requestId"} with the S3 status.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from auth.credentials import ROOT_USER, Principal, account_id, create_access_key
from gateway.admin.paths import ADMIN_PATH
from gateway.admin.usage import overview, quota_use_json
from gateway.context import Services
from gateway.errors import S3Error, S3ErrorCode
from gateway.json_api import Answer, SignedCall, read_body, serve_signed
from gateway.limits.quota import SCOPES, Scope, Usage

ACCOUNT_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
MAX_BUCKETS_SHOWN = 100_000  # the usage overview's bucket rows, most bytes first
UNSIGNED = "The admin API needs a signed request."


def is_admin(principal: Principal) -> bool:
    """The service's administrator: the root account's own key (not an IAM user of it,
    not an STS session)."""
    return principal.is_root and principal.iam_user is None and principal.user == ROOT_USER


async def serve_api(
    request: web.Request,
    services: Services,
    raw_path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
) -> web.StreamResponse:
    async def answer(call: SignedCall) -> Answer:
        data = parse_body(await read_body(call.body))
        rest = raw_path[len(ADMIN_PATH) :]
        return await answer_as(services, call.principal, request.method, rest, data)

    return await serve_signed(
        request, services, raw_path, pairs, headers, unsigned=UNSIGNED, answer=answer
    )


def parse_body(raw: bytes) -> dict[str, Any]:
    """A JSON object body ({} when empty); InvalidArgument otherwise."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad("The request body is not JSON") from exc
    if not isinstance(data, dict):
        raise _bad("The request body is not a JSON object")
    return data


def _bad(message: str) -> S3Error:
    return S3Error(S3ErrorCode.INVALID_ARGUMENT, message)


def _not_allowed(method: str, resource: str) -> S3Error:
    return S3Error(S3ErrorCode.METHOD_NOT_ALLOWED, Method=method, ResourceType=resource)


async def answer_as(
    services: Services, principal: Principal, method: str, rest: str, data: dict[str, Any]
) -> Answer:
    """The answer to `method` on ADMIN_PATH + `rest` from an authenticated `principal`."""
    if not is_admin(principal):
        raise S3Error(
            S3ErrorCode.ACCESS_DENIED,
            "Only the administrator (the root account's own keys) may use the admin API.",
        )
    parts = [unquote(part) for part in rest.strip("/").split("/")] if rest.strip("/") else []
    if parts == ["accounts"]:
        if method == "GET":
            return 200, await _list_accounts(services)
        if method == "POST":
            return 201, await _create_account(services, data)
        raise _not_allowed(method, "accounts")
    if len(parts) == 2 and parts[0] == "accounts":
        if method == "DELETE":
            return 200, await _delete_account(services, parts[1])
        raise _not_allowed(method, "account")
    if len(parts) == 3 and parts[0] == "accounts" and parts[2] == "keys":
        if method == "POST":
            return 201, await _create_key(services, parts[1])
        raise _not_allowed(method, "keys")
    if len(parts) == 4 and parts[0] == "accounts" and parts[2] == "keys":
        if method == "DELETE":
            return 200, await _delete_key(services, parts[1], parts[3])
        if method == "PATCH":
            return 200, await _set_key_active(services, parts[1], parts[3], data)
        raise _not_allowed(method, "key")
    if parts == ["usage"]:
        if method == "GET":
            return 200, await _usage(services)
        raise _not_allowed(method, "usage")
    if len(parts) == 3 and parts[0] == "quotas" and parts[1] in SCOPES:
        scope: Scope = "bucket" if parts[1] == "bucket" else "account"
        return 200, await _quota(services, method, scope, parts[2], data)
    raise S3Error(S3ErrorCode.NOT_IMPLEMENTED, f"No admin API at {ADMIN_PATH}{rest}")


async def _list_accounts(services: Services) -> dict[str, Any]:
    meta = services.meta
    accounts = []
    for user in await meta.list_users():
        keys = [k for k in await meta.list_access_keys(user.name) if k.iam_user is None]
        accounts.append(
            {
                "name": user.name,
                "accountId": account_id(user.name),
                "isRoot": user.is_root,
                "email": user.email,
                "created": user.created,
                "keys": [
                    {"accessKey": k.access_key, "created": k.created, "active": k.active}
                    for k in keys
                ],
            }
        )
    return {"accounts": accounts}


async def _create_account(services: Services, data: dict[str, Any]) -> dict[str, Any]:
    name, email = data.get("name"), data.get("email")
    if not isinstance(name, str) or not ACCOUNT_NAME.fullmatch(name):
        raise _bad("An account name is 1 to 64 letters, digits and +=,.@_- characters")
    if email is not None and (not isinstance(email, str) or "@" not in email):
        raise _bad("'email' must be an e-mail address")
    meta, now = services.meta, services.clock()
    try:
        await meta.create_user(name, now=now)
    except KeyError:
        raise S3Error(S3ErrorCode.ACCOUNT_ALREADY_EXISTS) from None
    key = await create_access_key(meta, services.credentials.sealer, name, now=now)
    if email:
        await meta.set_user_email(name, email)
    return {"name": name, "accessKey": key.access_key, "secretKey": key.secret_key}


async def _delete_account(services: Services, name: str) -> dict[str, Any]:
    meta = services.meta
    if name == ROOT_USER:
        raise S3Error(S3ErrorCode.ACCESS_DENIED, "The root account cannot be deleted.")
    if await meta.get_user(name) is None:
        raise S3Error(S3ErrorCode.NO_SUCH_ACCOUNT)
    if await meta.list_buckets(owner=name):
        raise S3Error(S3ErrorCode.ACCOUNT_NOT_EMPTY)
    await meta.delete_user(name)
    # Its keys stop working in this process now (others within the cache's TTL).
    services.credentials.invalidate()
    return {"deleted": name}


async def _create_key(services: Services, name: str) -> dict[str, Any]:
    try:
        key = await create_access_key(
            services.meta, services.credentials.sealer, name, now=services.clock()
        )
    except KeyError:
        raise S3Error(S3ErrorCode.NO_SUCH_ACCOUNT) from None
    return {"account": name, "accessKey": key.access_key, "secretKey": key.secret_key}


async def _delete_key(services: Services, name: str, access_key: str) -> dict[str, Any]:
    meta = services.meta
    key = await meta.get_access_key(access_key)
    if key is None or key.user != name or key.iam_user is not None:
        raise S3Error(S3ErrorCode.NO_SUCH_ACCESS_KEY)
    await _keep_root_usable(services, name, access_key, "deleted")
    await meta.delete_access_key(access_key)
    services.credentials.invalidate()
    return {"deleted": access_key}


async def _keep_root_usable(services: Services, name: str, access_key: str, what: str) -> None:
    """Refuse to leave the administrator without an active key of its own (only the
    shell's `kloudvault admin key create` could then let anyone in again)."""
    if name != ROOT_USER:
        return
    others = [
        k
        for k in await services.meta.list_access_keys(name)
        if k.iam_user is None and k.active and k.access_key != access_key
    ]
    if not others:
        raise S3Error(
            S3ErrorCode.ACCESS_DENIED, f"The root account's last active key cannot be {what}."
        )


async def _set_key_active(
    services: Services, name: str, access_key: str, data: dict[str, Any]
) -> dict[str, Any]:
    active = data.get("active")
    if not isinstance(active, bool):
        raise _bad("'active' must be true or false")
    meta = services.meta
    if not active:
        await _keep_root_usable(services, name, access_key, "deactivated")
    if not await meta.set_access_key_active(name, access_key, active):
        raise S3Error(S3ErrorCode.NO_SUCH_ACCESS_KEY)
    services.credentials.invalidate()
    return {"accessKey": access_key, "active": active}


async def _usage(services: Services) -> dict[str, Any]:
    meta = services.meta
    return overview(
        await meta.list_buckets(),
        await meta.bucket_usage(MAX_BUCKETS_SHOWN),
        await meta.list_quotas(),
        [user.name for user in await meta.list_users()],
    )


def _limit(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(f"'{name}' must be a whole number of 0 or more (or null: unlimited)")
    return value


async def _quota(
    services: Services, method: str, scope: Scope, name: str, data: dict[str, Any]
) -> dict[str, Any]:
    meta = services.meta
    if method == "PUT":
        max_bytes, max_objects = _limit(data, "maxBytes"), _limit(data, "maxObjects")
        if max_bytes is None and max_objects is None:
            raise _bad("Give 'maxBytes' or 'maxObjects' (DELETE removes the quota)")
        try:
            await meta.set_quota(scope, name, max_bytes, max_objects)
        except KeyError:
            raise S3Error(S3ErrorCode.NO_SUCH_ACCOUNT) from None
    elif method == "DELETE":
        await meta.clear_quota(scope, name)
    elif method != "GET":
        raise _not_allowed(method, "quota")
    for use in await meta.list_quotas():
        if use.quota.scope == scope and use.quota.name == name:
            return quota_use_json(use)
    return await _unlimited(services, scope, name)


async def _unlimited(services: Services, scope: Scope, name: str) -> dict[str, Any]:
    """A bucket's or account's usage without a quota (NoSuchBucket/NoSuchAccount if none)."""
    meta = services.meta
    if scope == "bucket":
        if await meta.get_bucket(name) is None:
            raise S3Error(S3ErrorCode.NO_SUCH_BUCKET, BucketName=name)
        owned = {name}
    else:
        if await meta.get_user(name) is None:
            raise S3Error(S3ErrorCode.NO_SUCH_ACCOUNT)
        owned = {b.name for b in await meta.list_buckets(owner=name)}
    total = Usage()
    for row in await meta.bucket_usage(MAX_BUCKETS_SHOWN):
        if row.bucket in owned:
            total += Usage(row.objects, row.bytes)
    return {
        "scope": scope,
        "name": name,
        "quota": None,
        "objects": total.objects,
        "bytes": total.bytes,
    }
