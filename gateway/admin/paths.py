"""Which requests the admin API answers, by path (dispatch asks before S3 routing).

"_kv" is no bucket name ("_" is not allowed, gateway/s3/bucket_names.py), so no S3
request has this path; in virtual-host style (`bucket.<domain>`) it is a key of that
bucket and stays S3's.
"""

from __future__ import annotations

from gateway.routing import is_host_style

ADMIN_PATH = "/_kv/admin"


def is_admin_path(host: str, raw_path: str, domain: str | None) -> bool:
    if is_host_style(host, domain):
        return False
    return raw_path == ADMIN_PATH or raw_path.startswith(ADMIN_PATH + "/")
