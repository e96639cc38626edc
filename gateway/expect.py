"""`Expect: 100-continue`: the interim 100 goes out only once the request may proceed.

RFC 9110 §10.1.1: a client that sends `Expect: 100-continue` waits for the interim
response before sending the body; a server that already knows the final answer sends it
instead, and the body is never transmitted. S3 does this for requests it refuses
(https://docs.aws.amazon.com/AmazonS3/latest/API/RESTRedirect.html#RESTRedirect-100-continue):
a 403 or a 404 reaches the client before a byte of a large upload has left it.

aiohttp answers 100 Continue as soon as the route matches, before any handler runs. The
route's expect handler here (`defer_continue`) sends nothing; dispatch calls
`send_continue` once authentication, the bucket lookup and authorization have passed,
just before a handler may read the body. A response sent while the 100 is still owed
closes the connection (`close_if_body_unsent`), since the client may yet send the body
and the connection cannot carry another request until it has been read.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.http import HttpVersion11

# True while a 100 Continue is owed to the client (the body has not been asked for yet).
CONTINUE_OWED = web.RequestKey("continue_owed", bool)


async def defer_continue(request: web.Request) -> None:
    """The route's expect handler: answer nothing yet, remember the 100 is owed."""
    if request.version == HttpVersion11 and _wants_continue(request):
        request[CONTINUE_OWED] = True


async def send_continue(request: web.Request) -> None:
    """Send the interim 100 Continue if the client waits for it (at most once)."""
    if not request.get(CONTINUE_OWED):
        return
    request[CONTINUE_OWED] = False
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    # The interim response is not part of the final response's size (aiohttp does the same).
    request.writer.output_size = 0


async def close_if_body_unsent(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: a final answer sent instead of 100 Continue ends the connection."""
    if request.get(CONTINUE_OWED):
        # aiohttp has written its Connection header from keep_alive already: set both.
        response.force_close()
        response.headers["Connection"] = "close"


def _wants_continue(request: web.Request) -> bool:
    return request.headers.get("Expect", "").strip().lower() == "100-continue"
