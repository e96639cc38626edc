"""Which requests share links serve, by path (dispatch hands them over before S3 routing).

    /s/<token>       a download (gateway/sharing/download.py)
    /_kv/shares...   the JSON API (gateway/sharing/api.py)

Neither can be a path-style S3 request: a bucket name is 3 to 63 characters of a-z, 0-9,
"." and "-" (gateway/s3/bucket_names.py), so no bucket is named "s" (too short) or "_kv"
("_" is not allowed), and nothing can be stored under them. In virtual-host style
(`bucket.<domain>`) the path is a key of that bucket, so those requests stay S3's.
"""

from __future__ import annotations

from gateway.routing import is_host_style

DOWNLOAD_PREFIX = "/s/"
API_PATH = "/_kv/shares"


def download_path(token: str) -> str:
    return DOWNLOAD_PREFIX + token


def is_sharing_path(host: str, raw_path: str, domain: str | None) -> bool:
    if is_host_style(host, domain):
        return False
    return raw_path.startswith(DOWNLOAD_PREFIX) or (
        raw_path == API_PATH or raw_path.startswith(API_PATH + "/")
    )
