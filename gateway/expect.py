"""`Expect: 100-continue`: the interim 100 goes out only once the request may proceed.

RFC 9110 §10.1.1: a client that sends `Expect: 100-continue` waits for the interim
response before sending the body; a server that already knows the final answer sends it
instead, and the body is never transmitted. S3's PutObject reference says the same of
its Expect header ("If the message is rejected based on the headers, the body of the
message is not sent"): a 403 or a 404 reaches the client before a byte of a large upload
has left it.

aiohttp answers 100 Continue as soon as the route matches, before any handler runs. The
route's expect handler here (`defer_continue`) sends nothing. After authentication, the
bucket lookup and authorization, dispatch hands the request body a hook that calls
`send_continue` when the operation first reads it (gateway/body.py), so whatever the
operation refuses before that (a missing upload, a size limit) is answered without the
body too. A response sent while the 100 is still owed closes the connection
(`continue_middleware`): the body the client held back would otherwise stand between
this request and the next.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.http import HttpVersion11
from aiohttp.typedefs import Handler

# True while a 100 Continue is owed to the client (the body has not been asked for yet).
CONTINUE_OWED = web.RequestKey("continue_owed", bool)


async def defer_continue(request: web.Request) -> None:
    """The route's expect handler: answer nothing yet, remember the 100 is owed."""
    if request.version == HttpVersion11 and _wants_continue(request):
        request[CONTINUE_OWED] = True


def _owed(request: web.Request) -> bool:
    # Only a request that sent Expect can owe a 100 (defer_continue): the headers answer
    # for every other one, without the KeyError an absent key costs the request's mapping.
    return hdrs.EXPECT in request.headers and request.get(CONTINUE_OWED, False)


async def send_continue(request: web.Request) -> None:
    """Send the interim 100 Continue if the client waits for it (at most once)."""
    if not _owed(request):
        return
    request[CONTINUE_OWED] = False
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    # The interim response is not part of the final response's size (aiohttp does the same).
    request.writer.output_size = 0


@web.middleware
async def continue_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: a final answer sent while the 100 is still owed ends the connection.

    The client holds the body back and may never send it, and aiohttp would otherwise
    wait (its lingering time) for that body before reading the next request: write the
    answer with "Connection: close" now, then close, so nothing waits on either side.
    """
    response = await handler(request)
    if _owed(request):
        response.force_close()
        await response.prepare(request)
        await response.write_eof()  # both no-ops for a response already written
        request.protocol.force_close()  # the transport flushes what was written, then closes
    return response


def _wants_continue(request: web.Request) -> bool:
    return request.headers.get("Expect", "").strip().lower() == "100-continue"
