"""Readable input formats for the fuzz targets, so seeds are copied from unit tests as text.

A request is written as on the wire, decoded as aiohttp decodes it (UTF-8 with
surrogateescape):

    GET /bucket/key?uploads&X-Amz-Date=... HTTP/1.1
    Host: bucket.localhost
    X-Amz-Date: 20130524T000000Z

Anything malformed is read leniently (a missing target is "/", a header line without a
colon is skipped): the input format must never be what rejects an input.
"""

from __future__ import annotations

from urllib.parse import parse_qsl


def text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def split_head(data: bytes) -> tuple[list[str], bytes]:
    """The lines up to the first empty line, and the bytes after it."""
    head, _, rest = data.partition(b"\n\n")
    return text(head).split("\n"), rest


def headers_of(lines: list[str]) -> dict[str, str]:
    """Lower-case names; repeated headers joined by "," (as SignedRequest wants them)."""
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            continue
        name = name.strip().lower()
        value = value.strip()
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def request_line(line: str) -> tuple[str, str, list[tuple[str, str]]]:
    """(method, raw path, decoded query pairs) of "METHOD target [version]"."""
    parts = line.split(" ")
    method = parts[0] or "GET"
    target = parts[1] if len(parts) > 1 else "/"
    path, _, query = target.partition("?")
    return method, path, parse_qsl(query, keep_blank_values=True)


def integer(line: str, default: int) -> int:
    """A small non-negative int from a control line (what is not one gives `default`)."""
    digits = line.strip()
    if digits.isascii() and digits.isdigit() and len(digits) <= 18:
        return int(digits)
    return default
