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


def targets() -> list[Target]:
    return [
        Target("range", run_range, (S3Error,)),
        Target("conditional", run_conditional, (S3Error,)),
    ]
