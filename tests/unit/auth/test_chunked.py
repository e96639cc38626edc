"""The aws-chunked decoder: any feed splits, signatures, trailers, truncation, junk."""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import io
import random
import zlib

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

from auth.authenticate import parse_auth, verify_auth
from auth.chunked import MAX_LINE_BYTES, ChunkedDecoder
from auth.request import ChunkSigner, SignedRequest
from gateway.errors import S3Error, S3ErrorCode

SIGNER = ChunkSigner(
    signing_key=hashlib.sha256(b"test signing key").digest(),
    amz_date="20240102T030405Z",
    scope="20240102/us-east-1/s3/aws4_request",
    seed_signature="5eed" * 16,
)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
FRAMING_ERRORS = (
    S3ErrorCode.INVALID_REQUEST,
    S3ErrorCode.INCOMPLETE_BODY,
    S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,
)


# -- a reference encoder, written from the AWS pages independently of auth.chunked --------


def _hmac_hex(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def encode(
    chunks: list[bytes],
    *,
    signer: ChunkSigner | None,
    trailers: dict[str, str] | None = None,
) -> bytes:
    """An aws-chunked body: `chunks`, the final empty chunk, then trailers if given."""
    wire = bytearray()
    previous = signer.seed_signature if signer else ""
    for chunk in [*chunks, b""]:
        if signer is None:
            wire += b"%x\r\n" % len(chunk)
        else:
            to_sign = "\n".join(
                [
                    "AWS4-HMAC-SHA256-PAYLOAD",
                    signer.amz_date,
                    signer.scope,
                    previous,
                    EMPTY_SHA256,
                    hashlib.sha256(chunk).hexdigest(),
                ]
            )
            previous = _hmac_hex(signer.signing_key, to_sign)
            wire += b"%x;chunk-signature=%s\r\n" % (len(chunk), previous.encode())
        if chunk:
            wire += chunk + b"\r\n"
    if trailers is not None:
        for name, value in trailers.items():
            wire += f"{name}:{value}\r\n".encode()
        if signer is not None:
            canonical = "".join(f"{name}:{value}\n" for name, value in trailers.items())
            to_sign = "\n".join(
                [
                    "AWS4-HMAC-SHA256-TRAILER",
                    signer.amz_date,
                    signer.scope,
                    previous,
                    hashlib.sha256(canonical.encode()).hexdigest(),
                ]
            )
            wire += f"x-amz-trailer-signature:{_hmac_hex(signer.signing_key, to_sign)}\r\n".encode()
    wire += b"\r\n"
    return bytes(wire)


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def split_payload(payload: bytes, rng: random.Random) -> list[bytes]:
    chunks, pos = [], 0
    while pos < len(payload):
        size = rng.choice([1, 17, 8192, 65536, rng.randint(1, 100_000)])
        chunks.append(payload[pos : pos + size])
        pos += size
    return chunks


def feed_in_splits(decoder: ChunkedDecoder, wire: bytes, rng: random.Random) -> bytes:
    out: list[bytes] = []
    pos = 0
    while pos < len(wire):
        size = rng.choice([1, 2, 3, rng.randint(1, 200), rng.randint(1, 100_000)])
        out += decoder.feed(wire[pos : pos + size])
        pos += size
    return b"".join(out)


def decode(
    wire: bytes, *, signer: ChunkSigner | None, trailer: bool
) -> tuple[bytes, dict[str, str]]:
    decoder = ChunkedDecoder(signer=signer, expect_trailer=trailer)
    payload = b"".join(decoder.feed(wire))
    return payload, decoder.finish()


def assert_rejected(
    wire: bytes, *, signer: ChunkSigner | None, trailer: bool, codes: tuple[S3ErrorCode, ...]
) -> None:
    with pytest.raises(S3Error) as info:
        decode(wire, signer=signer, trailer=trailer)
    assert info.value.code in codes, info.value


MODES = [
    pytest.param(SIGNER, False, id="signed"),
    pytest.param(SIGNER, True, id="signed-trailer"),
    pytest.param(None, True, id="unsigned-trailer"),
]


# -- the AWS example, and botocore's encoder ----------------------------------------------


def test_aws_doc_streaming_example() -> None:
    # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html (PUT Object)
    headers = {
        "host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "content-length": "66824",
        "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
        "s3/aws4_request,SignedHeaders=content-encoding;content-length;host;"
        "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"
        "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    }
    req = SignedRequest("PUT", "/examplebucket/chunkObject.txt", (), headers)
    parsed = parse_auth(req)
    assert parsed is not None
    now = float(calendar.timegm((2013, 5, 24, 0, 0, 0)))
    result = verify_auth(parsed, req, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", now=now)
    assert result.chunk_signer is not None
    wire = (
        b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
        b"\r\n" + b"a" * 65536 + b"\r\n"
        b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
        b"\r\n" + b"a" * 1024 + b"\r\n"
        b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
        b"\r\n\r\n"
    )
    assert len(wire) == 66824
    assert wire == encode([b"a" * 65536, b"a" * 1024], signer=result.chunk_signer)
    rng = random.Random(1)
    for _ in range(20):
        decoder = ChunkedDecoder(signer=result.chunk_signer, expect_trailer=False)
        assert feed_in_splits(decoder, wire, rng) == b"a" * 66560
        assert decoder.finish() == {}
        assert decoder.payload_bytes == 66560


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024, 2 * 1024 * 1024 + 7])
def test_botocore_unsigned_trailer_stream(size: int) -> None:
    payload = random.Random(size).randbytes(size)
    wrapper = AwsChunkedWrapper(
        io.BytesIO(payload), checksum_cls=Crc32Checksum, checksum_name="x-amz-checksum-crc32"
    )
    wire = wrapper.read()
    rng = random.Random(size)
    decoder = ChunkedDecoder(signer=None, expect_trailer=True)
    assert feed_in_splits(decoder, wire, rng) == payload
    assert decoder.finish() == {"x-amz-checksum-crc32": crc32_b64(payload)}


# -- random splits -------------------------------------------------------------------------


def test_random_streams_in_random_splits() -> None:
    rng = random.Random(20240102)
    for _ in range(200):
        signer, trailer = rng.choice([(SIGNER, False), (SIGNER, True), (None, True), (None, False)])
        payload = rng.randbytes(rng.choice([0, 1, rng.randint(0, 5000), rng.randint(0, 300_000)]))
        trailers = None
        if trailer:
            trailers = {"x-amz-checksum-crc32": crc32_b64(payload)}
            if rng.random() < 0.3:
                trailers["x-amz-checksum-sha256"] = base64.b64encode(
                    hashlib.sha256(payload).digest()
                ).decode()
        wire = encode(split_payload(payload, rng), signer=signer, trailers=trailers)
        decoder = ChunkedDecoder(signer=signer, expect_trailer=trailer)
        assert feed_in_splits(decoder, wire, rng) == payload
        assert decoder.finish() == (trailers or {})
        assert decoder.payload_bytes == len(payload)


@pytest.mark.parametrize(("signer", "trailer"), MODES)
def test_one_byte_at_a_time(signer: ChunkSigner | None, trailer: bool) -> None:
    payload = bytes(range(256)) * 20
    trailers = {"x-amz-checksum-crc32": crc32_b64(payload)} if trailer else None
    wire = encode(
        [payload[:1000], payload[1000:1001], payload[1001:]], signer=signer, trailers=trailers
    )
    decoder = ChunkedDecoder(signer=signer, expect_trailer=trailer)
    out = b"".join(piece for i in range(len(wire)) for piece in decoder.feed(wire[i : i + 1]))
    assert out == payload
    assert decoder.finish() == (trailers or {})


def test_large_chunks_are_passed_through_without_copies() -> None:
    payload = random.Random(8).randbytes(8 * 1024 * 1024)
    wire = encode([payload], signer=SIGNER)
    header_end = wire.index(b"\r\n") + 2
    decoder = ChunkedDecoder(signer=SIGNER, expect_trailer=False)
    assert decoder.feed(wire[:header_end]) == []
    pieces: list[bytes] = []
    for pos in range(header_end, header_end + len(payload), 65536):
        feed = wire[pos : pos + 65536]
        out = decoder.feed(feed)
        assert len(out) == 1 and out[0] is feed  # a feed that is all payload is not copied
        pieces += out
    decoder.feed(wire[header_end + len(payload) :])
    assert b"".join(pieces) == payload and decoder.finish() == {}


def test_bare_lf_line_endings_are_accepted() -> None:
    wire = b"3\nabc\r\n0\nx-amz-checksum-crc32:AAAAAA==\n\n"
    payload, trailers = decode(wire, signer=None, trailer=True)
    assert payload == b"abc" and trailers == {"x-amz-checksum-crc32": "AAAAAA=="}


def test_trailer_names_are_lower_cased_and_values_trimmed() -> None:
    wire = b"0\r\nX-Amz-Checksum-CRC32 :  AAAAAA== \r\n\r\n"
    assert decode(wire, signer=None, trailer=True)[1] == {"x-amz-checksum-crc32": "AAAAAA=="}


# -- signatures ----------------------------------------------------------------------------


def _signed_wire(trailer: bool) -> bytes:
    trailers = {"x-amz-checksum-crc32": crc32_b64(b"hello world")} if trailer else None
    return encode([b"hello ", b"world"], signer=SIGNER, trailers=trailers)


@pytest.mark.parametrize("trailer", [False, True])
def test_tampered_chunk_signature(trailer: bool) -> None:
    wire = _signed_wire(trailer)
    for index in range(3):  # the two data chunks and the final chunk
        start = [m for m in range(len(wire)) if wire.startswith(b"chunk-signature=", m)][index]
        pos = start + len(b"chunk-signature=") + 5
        bad = wire[:pos] + (b"0" if wire[pos : pos + 1] != b"0" else b"1") + wire[pos + 1 :]
        assert_rejected(
            bad, signer=SIGNER, trailer=trailer, codes=(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,)
        )


@pytest.mark.parametrize("trailer", [False, True])
def test_tampered_chunk_data(trailer: bool) -> None:
    wire = _signed_wire(trailer)
    bad = wire.replace(b"world", b"World")
    assert_rejected(
        bad, signer=SIGNER, trailer=trailer, codes=(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,)
    )


def test_wrong_seed_signature_is_rejected() -> None:
    first = encode([b"aaa"], signer=SIGNER).split(b"\r\n")
    # Swap in the signature chain of another stream: signatures chain from the seed.
    other = ChunkSigner(SIGNER.signing_key, SIGNER.amz_date, SIGNER.scope, "0" * 64)
    assert_rejected(
        b"\r\n".join(first),
        signer=other,
        trailer=False,
        codes=(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,),
    )


def test_tampered_trailer() -> None:
    wire = _signed_wire(True)
    value = crc32_b64(b"hello world").encode()
    mismatch = (S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,)
    assert_rejected(wire.replace(value, b"AAAAAA=="), signer=SIGNER, trailer=True, codes=mismatch)
    sig_at = wire.index(b"x-amz-trailer-signature:") + len(b"x-amz-trailer-signature:")
    flipped = wire[:sig_at] + (b"0" if wire[sig_at] != ord("0") else b"1") + wire[sig_at + 1 :]
    assert_rejected(flipped, signer=SIGNER, trailer=True, codes=mismatch)
    line_end = wire.index(b"\r\n", sig_at) + 2
    no_signature = wire[: wire.index(b"x-amz-trailer-signature:")] + wire[line_end:]
    assert_rejected(no_signature, signer=SIGNER, trailer=True, codes=mismatch)
    added = wire.replace(b"x-amz-trailer-signature", b"x-amz-meta-x:1\r\nx-amz-trailer-signature")
    assert_rejected(added, signer=SIGNER, trailer=True, codes=mismatch)


def test_missing_chunk_signature_in_signed_stream() -> None:
    wire = encode([b"abc"], signer=None)
    assert_rejected(
        wire, signer=SIGNER, trailer=False, codes=(S3ErrorCode.SIGNATURE_DOES_NOT_MATCH,)
    )


# -- truncation and junk ------------------------------------------------------------------


@pytest.mark.parametrize(("signer", "trailer"), MODES)
def test_every_truncation_is_incomplete_body(signer: ChunkSigner | None, trailer: bool) -> None:
    trailers = {"x-amz-checksum-crc32": crc32_b64(b"abcdefgh")} if trailer else None
    wire = encode([b"abcde", b"fgh"], signer=signer, trailers=trailers)
    for cut in range(len(wire)):
        decoder = ChunkedDecoder(signer=signer, expect_trailer=trailer)
        decoder.feed(wire[:cut])  # a valid prefix is never an error...
        with pytest.raises(S3Error) as info:
            decoder.finish()  # ...but ending there is
        assert info.value.code is S3ErrorCode.INCOMPLETE_BODY


@pytest.mark.parametrize(
    "wire",
    [
        b"zz\r\n",
        b"-1\r\n",
        b"0x10\r\n",
        b"1_0\r\n",
        b" 10\r\n",
        b"+5\r\n",
        b"\r\n",
        b"11111111111111111\r\nabc",
        b"3\r\nabcX\r\n0\r\n\r\n",
        b"3\r\nabc\rX0\r\n\r\n",
        b"3\r\nabc\r\n0\r\n\r\nextra",
        b"3\r\nabc\r\n0\r\nnocolon\r\n\r\n",
        b"3\r\nabc\r\n0\r\n:novalue\r\n\r\n",
        b"3\r\nabc\r\n0\r\nx-a:1\r\nx-a:2\r\n\r\n",
        b"3\r\nabc\r\n0\r\nx-a:\xff\r\n\r\n",
        b"3\r\nabc\r\n0\r\n\xffname:1\r\n\r\n",
        b"1000001\r\n",
        b"1" * (MAX_LINE_BYTES + 1),
        b"1;" + b"x" * MAX_LINE_BYTES + b"\r\n",
        b"0\r\n" + b"x-a:" + b"v" * MAX_LINE_BYTES + b"\r\n\r\n",
        b"0\r\n" + b"".join(b"x-%d:1\r\n" % i for i in range(100)) + b"\r\n",
    ],
)
def test_junk_framing_is_rejected(wire: bytes) -> None:
    decoder = ChunkedDecoder(signer=None, expect_trailer=True, max_chunk_size=1 << 24)
    with pytest.raises(S3Error) as info:
        decoder.feed(wire)
        decoder.finish()
    assert info.value.code in FRAMING_ERRORS


def test_trailers_not_announced_are_rejected() -> None:
    wire = encode([b"abc"], signer=None, trailers={"x-amz-checksum-crc32": "AAAAAA=="})
    assert_rejected(wire, signer=None, trailer=False, codes=(S3ErrorCode.INVALID_REQUEST,))


def test_chunk_size_limit() -> None:
    decoder = ChunkedDecoder(signer=None, expect_trailer=False, max_chunk_size=1024)
    decoder.feed(b"400\r\n")  # exactly the limit is fine
    with pytest.raises(S3Error) as info:
        ChunkedDecoder(signer=None, expect_trailer=False, max_chunk_size=1024).feed(b"401\r\n")
    assert info.value.code is S3ErrorCode.INVALID_REQUEST


def test_failed_decoder_stays_failed() -> None:
    decoder = ChunkedDecoder(signer=None, expect_trailer=False)
    with pytest.raises(S3Error):
        decoder.feed(b"zz\r\n")
    with pytest.raises(S3Error):
        decoder.feed(b"0\r\n\r\n")
    with pytest.raises(S3Error):
        decoder.finish()


@pytest.mark.parametrize(("signer", "trailer"), MODES)
def test_mutated_streams_raise_only_s3_errors(signer: ChunkSigner | None, trailer: bool) -> None:
    rng = random.Random(7)
    payload = rng.randbytes(3000)
    trailers = {"x-amz-checksum-crc32": crc32_b64(payload)} if trailer else None
    wire = encode(split_payload(payload, rng)[:5] or [payload], signer=signer, trailers=trailers)
    for _ in range(300):
        mutated = bytearray(wire)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(mutated))
            action = rng.randrange(3)
            if action == 0:
                mutated[pos] = rng.randrange(256)
            elif action == 1:
                del mutated[pos]
            else:
                mutated.insert(pos, rng.choice(b"0123456789abcdef;:=\r\n"))
        decoder = ChunkedDecoder(signer=signer, expect_trailer=trailer)
        try:
            feed_in_splits(decoder, bytes(mutated), rng)
            decoder.finish()
        except S3Error as error:
            assert error.code in FRAMING_ERRORS
