"""The HTML error pages of the website endpoint. Pure.

A browser gets a page, not S3's XML error document, in the shape S3's website endpoint
sends (https://docs.aws.amazon.com/AmazonS3/latest/userguide/CustomErrorDocSupport.html):
the status as title and heading, then the code, message, the error's fields, request id
and host id; when the bucket's own error document could not be served, a second list
says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from http import HTTPStatus

CONTENT_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class PageError:
    code: str
    message: str
    fields: Mapping[str, str] = field(default_factory=dict)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _items(error: PageError) -> list[str]:
    lines = [f"<li>Code: {escape(error.code)}</li>", f"<li>Message: {escape(error.message)}</li>"]
    lines += [f"<li>{escape(name)}: {escape(value)}</li>" for name, value in error.fields.items()]
    return lines


def error_page(
    status: int, error: PageError, request_id: str, document_error: PageError | None = None
) -> bytes:
    title = escape(f"{status} {_reason(status)}")
    lines = [
        "<html>",
        f"<head><title>{title}</title></head>",
        "<body>",
        f"<h1>{title}</h1>",
        "<ul>",
        *_items(error),
        f"<li>RequestId: {escape(request_id)}</li>",
        f"<li>HostId: {escape(request_id)}</li>",
        "</ul>",
    ]
    if document_error is not None:
        lines += [
            "<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>",
            "<ul>",
            *_items(document_error),
            "</ul>",
        ]
    lines += ["<hr/>", "</body>", "</html>", ""]
    return "\n".join(lines).encode()
