r"""Incremental, sans-IO decoder of aws-chunked request bodies: bytes in, payload out.

How this works
--------------
The wire format (Content-Encoding: aws-chunked) is

    signed          hex-size;chunk-signature=SIG\r\n <size bytes> \r\n ...
                    0;chunk-signature=SIG\r\n  [trailers]  \r\n
    unsigned        hex-size\r\n <size bytes> \r\n ...  0\r\n  [trailers]  \r\n
    trailers        name:value\r\n ...  [x-amz-trailer-signature:SIG\r\n]

A small state machine walks it. Line states (chunk header, trailer lines, the final empty
line) collect bytes up to "\n" in a bounded buffer; the DATA state never buffers: it
slices payload pieces straight out of the fed bytes and feeds them to one running SHA-256
per chunk, so an 8 MiB chunk costs one pass whatever the feed sizes are.

Signed chunks chain: chunk n is signed over "AWS4-HMAC-SHA256-PAYLOAD", the timestamp,
the scope, the signature of chunk n-1 (the request signature for the first chunk), the
SHA-256 of "" and the SHA-256 of the chunk data. The trailer signature covers the
trailers as "name:value\n" lines and chains from the final (empty) chunk's signature.

Payload bytes are handed out before their chunk's signature is checked (at the chunk's
end): the caller must treat any S3Error from feed()/finish() as "discard everything".

https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum, auto

from auth import sigv4
from auth.request import ChunkSigner
from gateway.errors import S3Error, S3ErrorCode

MAX_LINE_BYTES = 4096  # a chunk header is ~90 bytes; a trailer line well under that
MAX_TRAILERS = 32
_EMPTY_CHUNK_SHA256 = sigv4.EMPTY_SHA256
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_SIGNATURE_EXTENSION = b"chunk-signature="
_TRAILER_SIGNATURE = "x-amz-trailer-signature"


class _State(Enum):
    CHUNK_HEADER = auto()
    DATA = auto()
    DATA_CRLF = auto()
    TRAILER = auto()  # trailer lines until the empty line (expect_trailer)
    FINAL_CRLF = auto()  # the empty line after the final chunk (no trailer)
    DONE = auto()
    FAILED = auto()


class ChunkedDecoder:
    """Decode one aws-chunked body fed in any splits; verify signatures when signed."""

    def __init__(
        self,
        *,
        signer: ChunkSigner | None,
        expect_trailer: bool,
        max_chunk_size: int = 16 * 1024 * 1024,
    ) -> None:
        self._signer = signer
        self._expect_trailer = expect_trailer
        self._max_chunk_size = max_chunk_size
        self._state = _State.CHUNK_HEADER
        self._line = bytearray()
        self._remaining = 0  # payload bytes left in the current chunk
        self._crlf_seen = 0  # bytes of the "\r\n" after chunk data already matched
        self._hasher = hashlib.sha256()
        self._chunk_signature = ""  # claimed signature of the current chunk
        self._previous_signature = signer.seed_signature if signer else ""
        self._trailers: dict[str, str] = {}
        self._trailer_lines: list[str] = []  # canonical "name:value\n", in order sent
        self._trailer_signature: str | None = None
        self._payload_bytes = 0

    @property
    def payload_bytes(self) -> int:
        """Decoded payload bytes handed out so far."""
        return self._payload_bytes

    @property
    def done(self) -> bool:
        """The final chunk (and trailers, when expected) have been read and verified."""
        return self._state is _State.DONE

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Consume `data`; return the payload pieces it completes (possibly none)."""
        if self._state is _State.FAILED:
            raise S3Error(S3ErrorCode.INCOMPLETE_BODY, "The aws-chunked body was already rejected.")
        try:
            return self._feed(data if isinstance(data, bytes) else bytes(data))
        except S3Error:
            self._state = _State.FAILED
            raise

    def finish(self) -> dict[str, str]:
        """Call at EOF: the trailers (lower-case name -> value), or S3Error if truncated."""
        if self._state is not _State.DONE:
            self._state = _State.FAILED
            raise S3Error(
                S3ErrorCode.INCOMPLETE_BODY,
                "The aws-chunked body ended before its final chunk"
                + (" and trailers." if self._expect_trailer else "."),
            )
        return dict(self._trailers)

    # -- the state machine ---------------------------------------------------------------

    def _feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state is _State.DATA:
                take = min(self._remaining, end - pos)
                # Slicing copies once; a feed that is all payload is handed out as is.
                piece = data if take == end else data[pos : pos + take]
                if self._signer is not None:
                    self._hasher.update(piece)
                out.append(piece)
                pos += take
                self._remaining -= take
                self._payload_bytes += take
                if self._remaining == 0:
                    self._end_of_chunk_data()
            elif state is _State.DATA_CRLF:
                if data[pos] != b"\r\n"[self._crlf_seen]:
                    raise _malformed("chunk data is not followed by CRLF")
                pos += 1
                self._crlf_seen += 1
                if self._crlf_seen == 2:
                    self._state = _State.CHUNK_HEADER
            elif state is _State.DONE:
                raise _malformed("data after the final chunk")
            else:
                newline = data.find(b"\n", pos, pos + MAX_LINE_BYTES + 1 - len(self._line))
                if newline < 0:
                    if len(self._line) + end - pos > MAX_LINE_BYTES:
                        raise _malformed("line too long")
                    self._line += data[pos:]
                    break
                self._line += data[pos:newline]
                pos = newline + 1
                line = bytes(self._line)
                self._line.clear()
                if line.endswith(b"\r"):
                    line = line[:-1]
                self._on_line(line)
        return out

    def _on_line(self, line: bytes) -> None:
        state = self._state
        if state is _State.CHUNK_HEADER:
            self._on_chunk_header(line)
        elif state is _State.TRAILER:
            self._on_trailer_line(line)
        elif line:  # FINAL_CRLF
            raise _malformed("trailing headers sent but not announced (x-amz-trailer)")
        else:
            self._state = _State.DONE

    def _on_chunk_header(self, line: bytes) -> None:
        size_field, _, extensions = line.partition(b";")
        if not 0 < len(size_field) <= 16 or not _HEX_DIGITS.issuperset(size_field):
            raise _malformed("bad chunk size")
        size = int(size_field, 16)
        if size > self._max_chunk_size:
            raise S3Error(
                S3ErrorCode.INVALID_REQUEST,
                f"aws-chunked chunk of {size} bytes exceeds the {self._max_chunk_size} limit.",
            )
        if self._signer is not None:
            self._chunk_signature = _chunk_signature(extensions)
        if size == 0:
            if self._signer is not None:
                self._verify_chunk(_EMPTY_CHUNK_SHA256)
            self._state = _State.TRAILER if self._expect_trailer else _State.FINAL_CRLF
            return
        self._remaining = size
        self._state = _State.DATA

    def _end_of_chunk_data(self) -> None:
        if self._signer is not None:
            self._verify_chunk(self._hasher.hexdigest())
            self._hasher = hashlib.sha256()
        self._crlf_seen = 0
        self._state = _State.DATA_CRLF

    def _verify_chunk(self, chunk_sha256: str) -> None:
        signer = self._signer
        assert signer is not None
        to_sign = sigv4.chunk_string_to_sign(
            signer.amz_date, signer.scope, self._previous_signature, chunk_sha256
        )
        expected = sigv4.sign(signer.signing_key, to_sign)
        if not _same(expected, self._chunk_signature):
            raise S3Error(
                S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,
                "The chunk signature we calculated does not match the signature you provided.",
                StringToSign=to_sign,
                SignatureProvided=self._chunk_signature,
            )
        self._previous_signature = expected

    def _on_trailer_line(self, line: bytes) -> None:
        if not line:
            self._end_of_trailers()
            return
        if self._trailer_signature is not None:
            raise _malformed("trailer after x-amz-trailer-signature")
        raw_name, sep, raw_value = line.partition(b":")
        try:
            name = raw_name.decode("ascii").strip().lower()
            value = raw_value.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise _malformed("trailer is not text") from None
        if not sep or not name:
            raise _malformed("bad trailer line")
        if name == _TRAILER_SIGNATURE:
            if self._signer is not None:
                self._trailer_signature = value
            return  # an unsigned stream has nothing to check it against
        if name in self._trailers or len(self._trailers) >= MAX_TRAILERS:
            raise _malformed("repeated or too many trailers")
        self._trailers[name] = value
        self._trailer_lines.append(f"{name}:{value}\n")

    def _end_of_trailers(self) -> None:
        signer = self._signer
        if signer is not None and (self._trailers or self._trailer_signature is not None):
            if self._trailer_signature is None:
                raise S3Error(
                    S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,
                    "The trailers carry no x-amz-trailer-signature.",
                )
            digest = hashlib.sha256(sigv4.utf8("".join(self._trailer_lines))).hexdigest()
            to_sign = sigv4.trailer_string_to_sign(
                signer.amz_date, signer.scope, self._previous_signature, digest
            )
            expected = sigv4.sign(signer.signing_key, to_sign)
            if not _same(expected, self._trailer_signature):
                raise S3Error(
                    S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,
                    "The trailer signature we calculated does not match the signature you "
                    "provided.",
                    StringToSign=to_sign,
                    SignatureProvided=self._trailer_signature,
                )
        self._state = _State.DONE


def _chunk_signature(extensions: bytes) -> str:
    """The chunk-signature=<64 hex> extension of a signed chunk header."""
    for extension in extensions.split(b";"):
        extension = extension.strip()
        if extension.startswith(_SIGNATURE_EXTENSION):
            signature = extension[len(_SIGNATURE_EXTENSION) :]
            if len(signature) == 64 and _HEX_DIGITS.issuperset(signature):
                return signature.decode("ascii")
            break
    raise S3Error(
        S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,
        "A signed aws-chunked chunk has no valid chunk-signature.",
    )


def _same(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), sigv4.utf8(provided))


def _malformed(detail: str) -> S3Error:
    return S3Error(S3ErrorCode.INVALID_REQUEST, f"Malformed aws-chunked body: {detail}.")
