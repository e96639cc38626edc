"""Which requests the console answers, by path (dispatch asks before S3 routing).

    /_kv/console/...   the JSON API (api.py): "_kv" is no bucket name (bucket_names.py)
    /console, /console/ and the files under static/, by unsigned GET or HEAD: the pages

With --console-listen the console lives on that listener only (console_here): on the S3
listener its paths are S3's like any other. That listener serves S3 requests too, for the
console's presigned requests go to the origin its pages came from.

"console" is a valid bucket name, so the pages take only what they must: an unsigned
GET/HEAD of one of their own file paths. Any signed request, any other method and any
other key under /console/ is S3's, as for any bucket (an anonymous read of a public
bucket named "console" at exactly those keys gets the console instead). In virtual-host
style (`bucket.<domain>`) every path is a key of that bucket, so nothing is the console's.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from gateway.routing import is_host_style

API_PREFIX = "/_kv/console"
PAGES_PREFIX = "/console/"
_SIGNED_QUERY = ("X-Amz-Signature", "Signature", "X-Amz-Credential", "AWSAccessKeyId")


def is_api_path(host: str, raw_path: str, domain: str | None) -> bool:
    if is_host_style(host, domain):
        return False
    return raw_path == API_PREFIX or raw_path.startswith(API_PREFIX + "/")


def is_page_path(raw_path: str) -> bool:
    """Whether the path could be one of the pages' (cheap: asked of every request)."""
    return raw_path == "/console" or raw_path.startswith(PAGES_PREFIX)


def page_name(
    method: str,
    host: str,
    raw_path: str,
    query_names: Collection[str],
    headers: Mapping[str, str],
    domain: str | None,
    files: Collection[str],
) -> str | None:
    """The static file (a name in `files`, "" for /console) an unsigned GET/HEAD asks for."""
    if not is_page_path(raw_path) or method not in ("GET", "HEAD"):
        return None
    if is_host_style(host, domain):
        return None
    if "authorization" in headers or any(name in query_names for name in _SIGNED_QUERY):
        return None
    if raw_path == "/console":
        return ""
    name = raw_path[len(PAGES_PREFIX) :] or "index.html"
    return name if name in files else None


def console_here(local_port: int | None, console_address: tuple[str, int] | None) -> bool:
    """Whether a request that arrived on `local_port` may be the console's: on any
    listener without --console-listen, else on its port only."""
    return console_address is None or local_port == console_address[1]
