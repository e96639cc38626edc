"""The value an operation returns; gateway.responses alone writes it to the wire."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from backends.base import ByteStream

XML_CONTENT_TYPE = "application/xml"


@dataclass(frozen=True)
class FileBody:
    """Bytes [offset, offset+count) of a local file, sent with sendfile."""

    path: str
    offset: int
    count: int


@dataclass(frozen=True)
class StreamBody:
    """A byte stream of known length; its first chunk is read before headers are sent,
    so a backend error still becomes an S3 error document."""

    stream: ByteStream
    length: int


Body = bytes | FileBody | StreamBody | None


@dataclass(frozen=True)
class S3Response:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Body = None

    @classmethod
    def xml(
        cls, payload: bytes, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> S3Response:
        return cls(status, {"Content-Type": XML_CONTENT_TYPE, **(headers or {})}, payload)
