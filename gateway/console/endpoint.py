"""The one entry dispatch calls: console pages and API answered, any other left to S3."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from gateway.console.api import serve_api
from gateway.console.paths import console_here, is_api_path, is_page_path, page_name
from gateway.console.sso import is_sso_path, serve_sso
from gateway.console.static import files, serve_file
from gateway.context import Services


async def serve_console(
    request: web.Request,
    services: Services,
    raw_path: str,
    pairs: list[tuple[str, str]],
    headers: Mapping[str, str],
) -> web.StreamResponse | None:
    """The answer to a console request (paths.py); None for any other request."""
    domain = services.settings.domain
    console_address = services.settings.console_address
    # The listener's port is a getsockname() call: asked only when it can matter.
    if console_address is not None and not console_here(_local_port(request), console_address):
        return None
    if is_api_path(request.host, raw_path, domain):
        if is_sso_path(raw_path):
            return await serve_sso(request, services, raw_path)
        return await serve_api(request, services, raw_path)
    if not is_page_path(raw_path):
        return None
    names = {name for name, _ in pairs}
    name = page_name(request.method, request.host, raw_path, names, headers, domain, files())
    if name is None:
        return None
    return serve_file(name)


def _local_port(request: web.Request) -> int | None:
    """The port of the listener the request arrived on (--console-listen tells them apart)."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        return int(sockname[1])
    return None
