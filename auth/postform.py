"""A streaming multipart/form-data decoder for POST Object (browser form uploads). Pure.

How this works: `FormReader.feed(bytes)` returns the file's bytes found in what was fed
(possibly none); the fields that precede the file collect in `fields` (lower-case names,
as AWS compares them case-insensitively) until the part named `file` begins, at which
point `file` is set. The file is never held: each feed hands its bytes on, keeping back
only a tail shorter than the delimiter (it may be the start of one). After the file the
rest of the body is still parsed, so that a second file, or a body that never closes its
boundary, is an error before the upload counts as complete; fields after the file are
ignored, as S3 ignores them.

Framing is RFC 7578 over RFC 2046 §5.1.1: every delimiter is CRLF "--" boundary, the
first one possibly without its CRLF (so the decoder starts as if a CRLF had come
first); a delimiter followed by "--" closes the body; anything after is the epilogue.

Limits, with S3's errors
(https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList):
the parts before the file's data at most 20 KB (MaxPostPreDataLengthExceeded); a part's
header block at most 8 KB, and a body that ends before its closing delimiter
(MalformedPOSTRequest; fewer bytes than Content-Length is the body reader's IncompleteBody);
no file, or a second one (IncorrectNumberOfFilesInPostRequest).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from gateway.errors import S3Error, S3ErrorCode

MAX_PRE_DATA = 20 * 1024
MAX_PART_HEADERS = 8 * 1024
FILE_FIELD = "file"

_PARAM = re.compile(r';\s*([A-Za-z0-9_*.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def boundary_of(content_type: str | None) -> str:
    """The boundary of a `multipart/form-data` Content-Type; S3's PreconditionFailed
    for any other enclosure type, MalformedPOSTRequest without a usable boundary."""
    media, _, params = (content_type or "").partition(";")
    if media.strip().lower() != "multipart/form-data":
        raise S3Error(
            S3ErrorCode.PRECONDITION_FAILED,
            Condition="Bucket POST must be of the enclosure-type multipart/form-data",
        )
    for match in _PARAM.finditer(";" + params):
        if match.group(1).lower() == "boundary":
            value = match.group(2) if match.group(2) is not None else match.group(3)
            # RFC 2046: 1 to 70 characters, all ASCII (bchars). The delimiter is matched
            # as Latin-1 bytes, so anything wider could not even be encoded.
            if value and len(value) <= 70 and value.isascii():
                return value
    raise S3Error(S3ErrorCode.MALFORMED_POST_REQUEST)


@dataclass(frozen=True)
class FilePart:
    name: str
    filename: str | None  # as sent, path and all (${filename} uses its last segment)
    content_type: str | None


class _State(Enum):
    DELIMITER = "delimiter"  # looking for a delimiter (preamble, or after a part's body)
    AFTER_DELIMITER = "after-delimiter"  # "--" (the end) or CRLF (a part) follows
    HEADERS = "headers"
    BODY = "body"
    EPILOGUE = "epilogue"


def _malformed(message: str | None = None) -> S3Error:
    return S3Error(S3ErrorCode.MALFORMED_POST_REQUEST, message)


def _disposition(headers: dict[str, str]) -> tuple[str, str | None]:
    """(name, filename) of a part's `Content-Disposition: form-data; name=...`."""
    value = headers.get("content-disposition")
    if value is None:
        raise _malformed()
    kind, _, params = value.partition(";")
    if kind.strip().lower() != "form-data":
        raise _malformed()
    found: dict[str, str] = {}
    for match in _PARAM.finditer(";" + params):
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        # Only \" is unescaped: browsers send Windows paths with literal backslashes.
        found.setdefault(match.group(1).lower(), raw.replace('\\"', '"'))
    if "name" not in found:
        raise _malformed()
    return found["name"], found.get("filename")


def _part_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed() from exc
    for line in text.split("\r\n"):
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise _malformed()
        headers[name.strip().lower()] = value.strip()
    return headers


class FormReader:
    """Fields, then the file's bytes, of one multipart/form-data body (module docstring)."""

    def __init__(self, boundary: str, *, max_pre_data: int = MAX_PRE_DATA) -> None:
        self._delimiter = b"\r\n--" + boundary.encode("latin-1")
        self._max_pre_data = max_pre_data
        # The body may open with the delimiter itself, without the CRLF before it.
        self._buffer = bytearray(b"\r\n")
        self._state = _State.DELIMITER
        self._pre_data = 0  # header and value bytes of the parts before the file
        self._part_name: str | None = None
        self._value = bytearray()  # the current field's value (fields before the file)
        self.fields: dict[str, str] = {}
        self.file: FilePart | None = None
        self.file_complete = False

    @property
    def closed(self) -> bool:
        """The closing delimiter has been read."""
        return self._state is _State.EPILOGUE

    def feed(self, data: bytes) -> list[bytes]:
        """Consume `data`; the file bytes it completed, in order."""
        out: list[bytes] = []
        if self._state is _State.EPILOGUE:
            return out
        self._buffer += data
        while self._step(out):
            pass
        return out

    def finish(self) -> None:
        """The body ended: it must have closed its boundary after exactly one file."""
        if self._state is not _State.EPILOGUE:
            raise _malformed()
        if self.file is None:
            raise S3Error(S3ErrorCode.INCORRECT_NUMBER_OF_FILES_IN_POST_REQUEST)

    # -- the state machine: each step consumes what it can; False when it needs more ------
    def _step(self, out: list[bytes]) -> bool:
        state, buffer = self._state, self._buffer
        if state is _State.DELIMITER:
            at = buffer.find(self._delimiter)
            if at < 0:
                # The preamble or ignored bytes: keep only what may start a delimiter.
                keep = len(self._delimiter) - 1
                if len(buffer) > keep:
                    self._skip(len(buffer) - keep)
                return False
            self._skip(at + len(self._delimiter))
            self._state = _State.AFTER_DELIMITER
            return True
        if state is _State.AFTER_DELIMITER:
            # Transport padding (RFC 2046: linear white space) may follow a delimiter.
            stripped = buffer.lstrip(b" \t")
            if len(stripped) < 2:
                if len(buffer) > 256:
                    raise _malformed()
                return False
            del buffer[: len(buffer) - len(stripped)]
            if buffer.startswith(b"--"):
                self._state = _State.EPILOGUE
                buffer.clear()
                return False
            if not buffer.startswith(b"\r\n"):
                raise _malformed()
            # Keep the CRLF: a part without headers is the CRLF CRLF found next.
            self._state = _State.HEADERS
            return True
        if state is _State.HEADERS:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_PART_HEADERS:
                    raise _malformed()
                return False
            if end > MAX_PART_HEADERS:
                raise _malformed()
            headers = _part_headers(bytes(buffer[2:end]))
            del buffer[: end + 4]
            if self.file is None:
                self._count_pre_data(end + 2)
            self._start_part(headers)
            self._state = _State.BODY
            return True
        if state is _State.BODY:
            at = buffer.find(self._delimiter)
            if at < 0:
                keep = len(self._delimiter) - 1
                if len(buffer) > keep:
                    self._take(bytes(buffer[: len(buffer) - keep]), out)
                    del buffer[: len(buffer) - keep]
                return False
            if at:
                self._take(bytes(buffer[:at]), out)
            del buffer[: at + len(self._delimiter)]
            self._end_part()
            self._state = _State.AFTER_DELIMITER
            return True
        return False

    def _start_part(self, headers: dict[str, str]) -> None:
        name, filename = _disposition(headers)
        lower = name.lower()
        if lower == FILE_FIELD:
            if self.file is not None:
                raise S3Error(S3ErrorCode.INCORRECT_NUMBER_OF_FILES_IN_POST_REQUEST)
            self.file = FilePart(name, filename, headers.get("content-type"))
        self._part_name = lower
        self._value.clear()

    def _in_file(self) -> bool:
        return self.file is not None and not self.file_complete and self._part_name == FILE_FIELD

    def _take(self, data: bytes, out: list[bytes]) -> None:
        if self._in_file():
            out.append(data)
        elif self.file is None:
            self._count_pre_data(len(data))
            self._value += data

    def _skip(self, size: int) -> None:
        """Drop ignored bytes (preamble, what follows a part); before the file they count
        towards the limit, or a body that never opens a part would be read to its end."""
        del self._buffer[:size]
        if self.file is None:
            self._count_pre_data(size)

    def _count_pre_data(self, size: int) -> None:
        self._pre_data += size
        if self._pre_data > self._max_pre_data:
            raise S3Error(
                S3ErrorCode.MAX_POST_PRE_DATA_LENGTH_EXCEEDED,
                MaxPostPreDataLengthBytes=str(self._max_pre_data),
            )

    def _end_part(self) -> None:
        name = self._part_name
        if self._in_file():
            self.file_complete = True
        elif self.file is None and name is not None:
            try:
                value = self._value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _malformed() from exc
            # A repeated field keeps its first value: policy checks and the upload see
            # the same one.
            self.fields.setdefault(name, value)
        self._part_name = None
        self._value.clear()
