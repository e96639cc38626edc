"""Range / x-amz-copy-source-range and the conditional request headers (gateway.s3).

range:        a control line with the object size (digits), then the header value
conditional:  a control line "METHOD etag last-modified-epoch", then header lines; the
              headers go through the read, copy-source and write preconditions
"""

from __future__ import annotations

from bench.fuzz import wire
from bench.fuzz.harness import Target
from gateway.errors import S3Error
from gateway.s3 import headers, preconditions


def run_range(data: bytes) -> None:
    control, _, value = wire.text(data).partition("\n")
    size = wire.integer(control, 1000)
    headers.parse_range(value, size)
    headers.parse_copy_source_range(value, size)


def run_conditional(data: bytes) -> None:
    lines, _ = wire.split_head(data)
    control = lines[0].split(" ")
    method = control[0] or "GET"
    etag = control[1] if len(control) > 1 else "d41d8cd98f00b204e9800998ecf8427e"
    # Last-Modified comes from the store, not the client: keep it a real date (< year 10000).
    last_modified = float(wire.integer(control[2], 0) % 253402300800 if len(control) > 2 else 0)
    fields = wire.headers_of(lines[1:])
    for value in fields.values():
        headers.parse_http_date(value)
    try:
        preconditions.check_preconditions(fields, etag, last_modified, method=method)
    except S3Error:
        pass  # the copy-source and write rules below must run on every input too
    try:
        preconditions.check_copy_source_preconditions(fields, etag, last_modified)
    except S3Error:
        pass
    pre = preconditions.put_precondition(fields)
    preconditions.check_write_precondition(pre, etag if method != "PUT" else None, "key")


CONDITIONAL_TOKENS = tuple(
    t.encode()
    for t in (
        "If-Match: ",
        "If-None-Match: ",
        "If-Modified-Since: ",
        "If-Unmodified-Since: ",
        "x-amz-copy-source-if-match: ",
        "x-amz-copy-source-if-none-match: ",
        "x-amz-copy-source-if-modified-since: ",
        "x-amz-copy-source-if-unmodified-since: ",
        'W/"',
        "*",
        " GMT",
        " +0000",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Fri, 31 Dec 9999 23:59:59 -2359",
        "Mon, 01 Jan 0001 00:00:00 +2359",
    )
)


def targets() -> list[Target]:
    return [
        Target("range", run_range, (S3Error,), (b"bytes=", b"-", b",", b"99999999999999999999")),
        Target("conditional", run_conditional, (S3Error,), CONDITIONAL_TOKENS),
    ]
