"""Which requests the tus endpoint serves, by path (dispatch hands them over before S3).

    /_kv/tus/<bucket>/<key>   POST: create an upload of that object (a signed request,
                              usually a SigV4-presigned URL); OPTIONS: capabilities
    /_kv/tus/<token>          HEAD, PATCH, DELETE, OPTIONS: one upload, named by its
                              unguessable token (gateway/sharing/tokens.py's shape)

Not `/tus/`: "tus" is a valid bucket name, whose path-style requests that would shadow.
"_kv" is not (gateway/sharing/paths.py): no bucket or key is lost. One segment after the
prefix is a token (a creation URL always names a key, so it has two).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from gateway.routing import is_host_style

TUS_PREFIX = "/_kv/tus/"


@dataclass(frozen=True)
class TusTarget:
    """What a tus path names: an object to create an upload of, an upload, or neither
    (the bare endpoint, for OPTIONS)."""

    bucket: str | None = None
    key: str | None = None
    token: str | None = None


def upload_path(token: str) -> str:
    return TUS_PREFIX + token


def is_tus_path(host: str, raw_path: str, domain: str | None) -> bool:
    if is_host_style(host, domain):
        return False
    return raw_path.startswith(TUS_PREFIX) or raw_path == TUS_PREFIX.rstrip("/")


def tus_target(raw_path: str) -> TusTarget:
    rest = raw_path[len(TUS_PREFIX) :] if raw_path.startswith(TUS_PREFIX) else ""
    if not rest:
        return TusTarget()
    bucket, slash, key = rest.partition("/")
    if not slash:
        return TusTarget(token=bucket)
    return TusTarget(bucket=unquote(bucket), key=unquote(key) if key else None)
