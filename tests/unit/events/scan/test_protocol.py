"""events/scan/protocol.py: the scanner URL, INSTREAM framing and clamd's answers."""

from __future__ import annotations

import pytest

from events.scan.protocol import (
    MAX_CHUNK,
    Clean,
    Endpoint,
    Infected,
    ScanFailed,
    Verdict,
    chunk_header,
    parse_answer,
    parse_url,
)

URLS = [
    ("clamd://127.0.0.1:3310", Endpoint(host="127.0.0.1", port=3310)),
    ("clamd://scanner.internal", Endpoint(host="scanner.internal", port=3310)),
    ("clamd://[::1]:3311", Endpoint(host="::1", port=3311)),
    ("clamd:///run/clamav/clamd.ctl", Endpoint(path="/run/clamav/clamd.ctl")),
]


@pytest.mark.parametrize(("url", "endpoint"), URLS)
def test_parse_url(url: str, endpoint: Endpoint) -> None:
    assert parse_url(url) == endpoint


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:3310",
        "clamd://",
        "clamd:///",
        "clamd://host:port",
        "clamd://host:3310/path",
        "clamd://:3310",
        "127.0.0.1:3310",
    ],
)
def test_parse_url_refuses(url: str) -> None:
    with pytest.raises(ValueError):
        parse_url(url)


def test_endpoint_str_names_the_address() -> None:
    assert str(parse_url("clamd://127.0.0.1:3310")) == "clamd://127.0.0.1:3310"
    assert str(parse_url("clamd:///s.sock")) == "clamd:///s.sock"


def test_chunk_header_is_big_endian_length() -> None:
    assert chunk_header(1) == b"\0\0\0\x01"
    assert chunk_header(0x01020304) == b"\x01\x02\x03\x04"
    assert chunk_header(MAX_CHUNK) == b"\xff\xff\xff\xff"
    for size in (0, -1, MAX_CHUNK + 1):  # 0 would end the stream
        with pytest.raises(ValueError):
            chunk_header(size)


ANSWERS: list[tuple[bytes, Verdict]] = [
    (b"stream: OK\0", Clean()),
    (b"stream: OK", Clean()),
    (b"stream: Eicar-Signature FOUND\0", Infected("Eicar-Signature")),
    (
        b"stream: KloudVault.Test.EICAR.UNOFFICIAL FOUND\0",
        Infected("KloudVault.Test.EICAR.UNOFFICIAL"),
    ),
    (
        b"INSTREAM size limit exceeded. ERROR\0",
        ScanFailed("clamd: INSTREAM size limit exceeded", too_large=True, permanent=True),
    ),
    (b"stream: Can't allocate memory ERROR\0", ScanFailed("clamd: stream: Can't allocate memory")),
    (b"COMMAND READ TIMED OUT ERROR\0", ScanFailed("clamd: COMMAND READ TIMED OUT")),
    (b"", ScanFailed("clamd closed the connection without an answer")),
    (b"\0", ScanFailed("clamd closed the connection without an answer")),
    (b"UNKNOWN COMMAND\0", ScanFailed("unexpected answer from clamd: 'UNKNOWN COMMAND'")),
    (b"stream:  FOUND\0", ScanFailed("unexpected answer from clamd: 'stream:  FOUND'")),
]


@pytest.mark.parametrize(("raw", "verdict"), ANSWERS)
def test_parse_answer(raw: bytes, verdict: Verdict) -> None:
    assert parse_answer(raw) == verdict


def test_an_error_is_never_clean() -> None:
    """The size limit (and any ERROR) means "not scanned", whatever else the line says."""
    assert isinstance(parse_answer(b"stream: OK INSTREAM size limit exceeded. ERROR\0"), ScanFailed)
