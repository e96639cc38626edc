"""Large request documents are parsed on a worker thread.

Parsing is CPU work: a 1 MB DeleteObjects body of tiny elements takes the better part of a
second, and on the event loop that second stalls every other request of the process.
Small documents (nearly all of them) stay on the loop, where a thread hop would cost more
than the parse. lxml is safe here: gateway/xml/safe.py makes a parser per call.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from gateway.xml.codec import parse
from gateway.xml.safe import DEFAULT_MAX_SIZE

M = TypeVar("M")

# Past this many bytes a document is parsed off the loop (a few milliseconds of work).
OFF_LOOP_BYTES = 64 * 1024


async def parse_request(cls: type[M], data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> M:
    """gateway.xml.codec.parse, on a worker thread when the document is large."""
    if len(data) <= OFF_LOOP_BYTES:
        return parse(cls, data, max_size=max_size)
    return await asyncio.to_thread(parse, cls, data, max_size=max_size)
