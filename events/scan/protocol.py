"""clamd's INSTREAM protocol, sans-IO: the scanner URL, the framing, the answers.

https://docs.clamav.net/manual/Usage/Scanning.html#instream and clamd(8):

    zINSTREAM\\0                      the command, NUL-terminated ("z" prefix)
    <length:4 bytes big-endian><data>  repeated, one chunk at a time
    <0:4 bytes>                        the end of the stream
    answer, NUL-terminated:            "stream: OK"
                                       "stream: <signature> FOUND"
                                       "<message> ERROR" (e.g. "INSTREAM size limit
                                       exceeded. ERROR" past clamd's StreamMaxLength)

clamd stops reading a stream longer than its StreamMaxLength, answers the size error and
closes the connection: such an object was not scanned, which is a failure, never "clean".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from urllib.parse import urlsplit

COMMAND = b"zINSTREAM\0"
END = b"\0\0\0\0"
MAX_CHUNK = 0xFFFFFFFF
DEFAULT_PORT = 3310
# An answer is one short line; anything longer is not clamd.
MAX_ANSWER = 4096


@dataclass(frozen=True)
class Endpoint:
    """Where clamd listens: TCP (host, port) or a unix socket path."""

    host: str | None = None
    port: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return f"clamd://{self.path}"
        return f"clamd://{self.host}:{self.port}"


def parse_url(url: str) -> Endpoint:
    """`clamd://HOST[:PORT]` (TCP, port 3310 by default) or `clamd:///path/to/socket`."""
    parts = urlsplit(url)
    if parts.scheme != "clamd":
        raise ValueError(f"--scan must be clamd://HOST:PORT or clamd:///socket, not {url!r}")
    if not parts.netloc:
        if not parts.path.startswith("/") or parts.path == "/":
            raise ValueError(f"--scan {url!r}: no socket path")
        return Endpoint(path=parts.path)
    if parts.path not in ("", "/") or parts.query:
        raise ValueError(f"--scan {url!r}: a TCP address takes no path")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"--scan {url!r}: bad port") from exc
    if not parts.hostname:
        raise ValueError(f"--scan {url!r}: no host")
    return Endpoint(host=parts.hostname, port=DEFAULT_PORT if port is None else port)


def chunk_header(size: int) -> bytes:
    """The length prefix of one INSTREAM chunk (never 0: that ends the stream)."""
    if not 0 < size <= MAX_CHUNK:
        raise ValueError(f"an INSTREAM chunk holds 1 to {MAX_CHUNK} bytes, not {size}")
    return struct.pack(">I", size)


@dataclass(frozen=True)
class Clean:
    pass


@dataclass(frozen=True)
class Infected:
    signature: str


@dataclass(frozen=True)
class ScanFailed:
    """The object was not scanned. `permanent`: trying again cannot help (`too_large`:
    past clamd's StreamMaxLength; or the gateway cannot read it back, SSE-C); otherwise
    the scanner was unreachable, timed out or failed, and a later attempt may succeed."""

    reason: str
    too_large: bool = False
    permanent: bool = False


Verdict = Clean | Infected | ScanFailed

_SIZE_LIMIT = "size limit exceeded"


def parse_answer(raw: bytes) -> Verdict:
    """One clamd answer to INSTREAM (as read up to its NUL, or to the connection's end)."""
    text = raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    if not text:
        return ScanFailed("clamd closed the connection without an answer")
    body = text.removeprefix("stream:").strip() if text.startswith("stream:") else None
    if body == "OK":
        return Clean()
    if body is not None and body.endswith(" FOUND"):
        signature = body.removesuffix(" FOUND").strip()
        if signature:
            return Infected(signature)
    if text.endswith("ERROR"):
        message = text.removesuffix("ERROR").strip().rstrip(".") or "error"
        too_large = _SIZE_LIMIT in message.lower()
        return ScanFailed(f"clamd: {message}", too_large=too_large, permanent=too_large)
    return ScanFailed(f"unexpected answer from clamd: {text[:200]!r}")
