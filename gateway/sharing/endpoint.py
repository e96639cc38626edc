"""The one entry dispatch calls: share link requests answered, any other left to S3."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from gateway.context import Services
from gateway.expect import send_continue
from gateway.sharing.api import serve_api
from gateway.sharing.download import serve_download
from gateway.sharing.paths import DOWNLOAD_PREFIX, is_sharing_path


async def serve_sharing(
    request: web.Request,
    services: Services,
    raw_path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
) -> web.StreamResponse | None:
    """The answer to a share link request (paths.py); None for any other request."""
    if not is_sharing_path(request.host, raw_path, services.settings.domain):
        return None
    await send_continue(request)  # gateway/expect.py: S3 requests send theirs after authorization
    if raw_path.startswith(DOWNLOAD_PREFIX):
        token = raw_path[len(DOWNLOAD_PREFIX) :]
        return await serve_download(request, services, token, headers)
    return await serve_api(request, services, raw_path, pairs, headers)
