"""auth/postform.py: the streaming multipart/form-data decoder of POST Object."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from auth.postform import MAX_PRE_DATA, FormReader, boundary_of
from gateway.errors import S3Error, S3ErrorCode

B = "----WebKitFormBoundary7MA4YWxkTrZu0gW"


def form(
    fields: list[tuple[str, str]],
    content: bytes,
    *,
    after: Sequence[tuple[str, str]] = (),
    filename: str = "a.txt",
    close: bool = True,
    preamble: bytes = b"",
) -> bytes:
    out = bytearray(preamble)
    for name, value in fields:
        out += f'--{B}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    out += (
        f'--{B}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    out += content + b"\r\n"
    for name, value in after:
        out += f'--{B}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    if close:
        out += f"--{B}--\r\n".encode()
    return bytes(out)


def decode(body: bytes, pieces: list[int]) -> tuple[FormReader, bytes]:
    """Feed `body` cut at the given offsets; (reader, the file's bytes)."""
    reader = FormReader(B)
    got = bytearray()
    start = 0
    for cut in [*pieces, len(body)]:
        for chunk in reader.feed(body[start:cut]):
            got += chunk
        start = cut
    reader.finish()
    return reader, bytes(got)


# Content that looks like the delimiter's start, CRLFs and dashes: the decoder must not
# mistake any of it for the end of the file.
TRICKY = b"\r\n--" + B[:-3].encode() + b"\r\n-\r\r\n--" + b"x" * 20 + b"\r\n"
FIELDS = [("key", "user/${filename}"), ("Content-Type", "text/plain"), ("x-amz-meta-a", "1")]


def test_fields_and_file_in_one_chunk() -> None:
    reader, content = decode(form(FIELDS, TRICKY), [])
    assert content == TRICKY
    assert reader.fields == {
        "key": "user/${filename}",
        "content-type": "text/plain",
        "x-amz-meta-a": "1",
    }
    assert reader.file is not None and reader.file.filename == "a.txt"
    assert reader.file.content_type == "text/plain"
    assert reader.file_complete and reader.closed


def test_every_single_cut() -> None:
    body = form(FIELDS, TRICKY, after=[("ignored", "value")], preamble=b"preamble\r\n")
    for cut in range(len(body) + 1):
        reader, content = decode(body, [cut])
        assert content == TRICKY, cut
        assert reader.fields["key"] == "user/${filename}"
        assert "ignored" not in reader.fields


def test_byte_at_a_time() -> None:
    body = form(FIELDS, TRICKY)
    reader, content = decode(body, list(range(1, len(body))))
    assert content == TRICKY
    assert reader.fields["x-amz-meta-a"] == "1"


def test_empty_file_and_field_values() -> None:
    reader, content = decode(form([("key", ""), ("acl", "private")], b""), [])
    assert content == b""
    assert reader.fields == {"key": "", "acl": "private"}


def test_large_file_streams_without_holding_it() -> None:
    reader = FormReader(B)
    head, tail = form(FIELDS, b"").split(b"\r\n--" + B.encode() + b"--")
    total = 0
    biggest = 0
    for chunk in reader.feed(head):
        total += len(chunk)
    block = b"z" * 65536
    for _ in range(64):  # 4 MiB
        for chunk in reader.feed(block):
            total += len(chunk)
            biggest = max(biggest, len(chunk))
    for chunk in reader.feed(b"\r\n--" + B.encode() + b"--" + tail):
        total += len(chunk)
    reader.finish()
    assert total == 64 * 65536
    assert biggest <= 65536 + len(B) + 4  # a feed hands on at most what it was given


def test_field_names_are_case_insensitive_values_are_not() -> None:
    reader, _ = decode(form([("KEY", "A/B"), ("Policy", "xYz")], b"1"), [])
    assert reader.fields == {"key": "A/B", "policy": "xYz"}


def test_repeated_field_keeps_the_first_value() -> None:
    reader, _ = decode(form([("key", "first"), ("key", "second")], b"1"), [])
    assert reader.fields["key"] == "first"


def test_fields_over_20_kb_before_the_file() -> None:
    body = form([("key", "k"), ("x-ignore-pad", "p" * MAX_PRE_DATA)], b"1")
    for cuts in ([], [100], list(range(1000, len(body), 1000))):
        with pytest.raises(S3Error) as info:
            decode(body, cuts)
        assert info.value.code is S3ErrorCode.MAX_POST_PRE_DATA_LENGTH_EXCEEDED
        assert info.value.fields == {"MaxPostPreDataLengthBytes": "20480"}


def test_ten_megabyte_field_fails_early() -> None:
    reader = FormReader(B)
    reader.feed(f'--{B}\r\nContent-Disposition: form-data; name="key"\r\n\r\n'.encode())
    with pytest.raises(S3Error) as info:
        for _ in range(10 * 16):
            reader.feed(b"v" * 65536)
    assert info.value.code is S3ErrorCode.MAX_POST_PRE_DATA_LENGTH_EXCEEDED


def test_fields_just_under_the_limit_pass() -> None:
    body = form([("x-ignore-pad", "p" * (MAX_PRE_DATA - 200))], b"1")
    reader, content = decode(body, [])
    assert content == b"1"


def test_large_fields_after_the_file_are_ignored() -> None:
    reader, content = decode(form(FIELDS, b"1", after=[("x", "y" * 100_000)]), [4096])
    assert content == b"1" and "x" not in reader.fields


def test_garbage_without_any_delimiter_is_bounded() -> None:
    reader = FormReader(B)
    with pytest.raises(S3Error) as info:
        for _ in range(100):
            reader.feed(b"g" * 1024)
    assert info.value.code is S3ErrorCode.MAX_POST_PRE_DATA_LENGTH_EXCEEDED


@pytest.mark.parametrize("cut", [0, 50, -40, -(len(B) + 6), -3])
def test_boundary_that_never_closes(cut: int) -> None:
    body = form(FIELDS, b"content", close=False)
    body = body[:cut] if cut else body
    with pytest.raises(S3Error) as info:
        decode(body, [])
    assert info.value.code is S3ErrorCode.MALFORMED_POST_REQUEST


def test_no_file_field() -> None:
    body = (f'--{B}\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--{B}--\r\n').encode()
    with pytest.raises(S3Error) as info:
        decode(body, [])
    assert info.value.code is S3ErrorCode.INCORRECT_NUMBER_OF_FILES_IN_POST_REQUEST


def test_two_file_fields() -> None:
    body = form(FIELDS, b"one", after=[("file", "two")])
    with pytest.raises(S3Error) as info:
        decode(body, [])
    assert info.value.code is S3ErrorCode.INCORRECT_NUMBER_OF_FILES_IN_POST_REQUEST


@pytest.mark.parametrize(
    "part",
    [
        b'Content-Disposition: attachment; name="key"\r\n\r\nv\r\n',
        b"Content-Type: text/plain\r\n\r\nv\r\n",
        b"Content-Disposition: form-data\r\n\r\nv\r\n",
        b"no colon here\r\n\r\nv\r\n",
    ],
)
def test_malformed_part_headers(part: bytes) -> None:
    body = f"--{B}\r\n".encode() + part + form(FIELDS, b"x")
    with pytest.raises(S3Error) as info:
        decode(body, [])
    assert info.value.code is S3ErrorCode.MALFORMED_POST_REQUEST


def test_part_headers_too_long() -> None:
    body = f"--{B}\r\nX-Pad: {'p' * 9000}\r\n".encode()
    with pytest.raises(S3Error) as info:
        decode(body, [])
    assert info.value.code in (
        S3ErrorCode.MALFORMED_POST_REQUEST,
        S3ErrorCode.MAX_POST_PRE_DATA_LENGTH_EXCEEDED,
    )


def test_field_that_is_not_utf8() -> None:
    body = form([("key", "k")], b"1").replace(b'name="key"\r\n\r\nk', b'name="key"\r\n\r\n\xff')
    with pytest.raises(S3Error) as info:
        decode(body, [])
    assert info.value.code is S3ErrorCode.MALFORMED_POST_REQUEST


def test_transport_padding_after_delimiter() -> None:
    body = form(FIELDS, b"abc").replace(f"--{B}\r\n".encode(), f"--{B}  \t\r\n".encode())
    reader, content = decode(body, [])
    assert content == b"abc" and reader.fields["key"] == "user/${filename}"


@pytest.mark.parametrize(
    ("header", "want"),
    [
        (f"multipart/form-data; boundary={B}", B),
        (f'Multipart/Form-Data; charset=utf-8; boundary="{B}"', B),
        ('multipart/form-data; boundary="a b;c"', "a b;c"),
    ],
)
def test_boundary_of(header: str, want: str) -> None:
    assert boundary_of(header) == want


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, S3ErrorCode.PRECONDITION_FAILED),
        ("application/x-www-form-urlencoded", S3ErrorCode.PRECONDITION_FAILED),
        ("multipart/form-data", S3ErrorCode.MALFORMED_POST_REQUEST),
        ("multipart/form-data; boundary=" + "x" * 71, S3ErrorCode.MALFORMED_POST_REQUEST),
        # Found by fuzzing (bench/fuzz postform): a UTF-8 boundary was a 500 (Latin-1 encode).
        ("multipart/form-data; boundary=X\u0663yZ", S3ErrorCode.MALFORMED_POST_REQUEST),
        ('multipart/form-data; boundary="caf\u00e9\u20ac"', S3ErrorCode.MALFORMED_POST_REQUEST),
    ],
)
def test_boundary_of_refuses(header: str | None, code: S3ErrorCode) -> None:
    with pytest.raises(S3Error) as info:
        boundary_of(header)
    assert info.value.code is code
