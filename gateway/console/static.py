"""The console's files (static/), served with a strict Content-Security-Policy.

The set of files is read once from the package; a request names one of them exactly
(paths.py), so nothing outside static/ can be reached. Scripts run only from this origin
(no inline script, no eval), which leaves an injected string in a page nothing to run.
"""

from __future__ import annotations

import functools
from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).with_name("static")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
# Uppy's Dashboard sets style attributes and shows thumbnails from blob: URLs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none';"
    " frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@functools.cache
def files() -> frozenset[str]:
    """The servable names: every file under static/ with a known type, "/"-separated."""
    return frozenset(
        path.relative_to(STATIC_DIR).as_posix()
        for path in STATIC_DIR.rglob("*")
        if path.is_file() and path.suffix in _TYPES
    )


def serve_file(name: str) -> web.StreamResponse:
    """`name` (from files(), "" for the bare /console) as a response."""
    if name == "":
        return web.Response(status=301, headers={**SECURITY_HEADERS, "Location": "/console/"})
    path = STATIC_DIR / name
    headers = {
        **SECURITY_HEADERS,
        "Content-Type": _TYPES[path.suffix],
        # Revalidated each time (FileResponse answers If-None-Match with 304): an upgraded
        # gateway never runs an old script against a new API.
        "Cache-Control": "no-cache",
    }
    return web.FileResponse(path, headers=headers)
