"""Target URL parsing, validation and redaction (events/targets/url.py)."""

from __future__ import annotations

import ssl

import pytest

from events.targets.url import DEFAULT_TIMEOUT, TargetURL, TargetURLError

PORTS = {"amqp": 5672, "amqps": 5671}
OPTIONS = ("exchange", "mandatory", "maxlen")


def parse(url: str) -> TargetURL:
    return TargetURL.parse(url, default_ports=PORTS, options=OPTIONS)


# (url, expected value)
PARSED = [
    ("amqp://h", TargetURL("amqp", "h", 5672)),
    ("AMQP://H:1234", TargetURL("amqp", "h", 1234)),
    (
        "amqp://us%40r:p%3Ass@h/v%2Fhost?exchange=e&timeout=2.5",
        TargetURL("amqp", "h", 5672, "us@r", "p:ss", "v/host", {"exchange": "e", "timeout": "2.5"}),
    ),
    ("amqp://:secret@h", TargetURL("amqp", "h", 5672, "", "secret")),
    ("amqp://[::1]:5673/", TargetURL("amqp", "::1", 5673)),
]


@pytest.mark.parametrize(("url", "expected"), PARSED)
def test_parse(url: str, expected: TargetURL) -> None:
    assert parse(url) == expected


# (url, a fragment of the error message)
REFUSED = [
    ("http://h", "unsupported scheme 'http'"),
    ("amqp://", "without a host"),
    ("amqp://u:secret@h:99999", "bad port"),
    ("amqp://u:secret@h:port", "bad port"),
    ("amqp://h#frag", "no #fragment"),
    ("amqp://h?exchnage=e", "unknown option 'exchnage'"),
    ("amqp://h?exchange=a&exchange=b", "given twice"),
    ("amqp://h?ca_file=/ca.pem", "ca_file is for TLS"),
]


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_parse_refuses(url: str, message: str) -> None:
    with pytest.raises(TargetURLError, match=message) as info:
        parse(url)
    assert "secret" not in str(info.value)


def test_timeout_option() -> None:
    assert parse("amqp://h").timeout == DEFAULT_TIMEOUT
    assert parse("amqp://h?timeout=0.25").timeout == 0.25
    for bad in ("0", "-1", "inf", "nan", "soon"):
        with pytest.raises(TargetURLError, match="timeout"):
            _ = parse(f"amqp://h?timeout={bad}").timeout


def test_flag_option() -> None:
    for value, expected in (("1", True), ("true", True), ("yes", True), ("0", False), ("", False)):
        assert parse(f"amqp://h?mandatory={value}").flag("mandatory") is expected
    assert parse("amqp://h").flag("mandatory") is False
    with pytest.raises(TargetURLError, match="mandatory"):
        parse("amqp://h?mandatory=maybe").flag("mandatory")


def test_integer_option() -> None:
    assert parse("amqp://h").integer("maxlen", 7) == 7
    assert parse("amqp://h?maxlen=0").integer("maxlen", 7) == 0
    for bad in ("-1", "ten", "1.5"):
        with pytest.raises(TargetURLError, match="maxlen"):
            parse(f"amqp://h?maxlen={bad}").integer("maxlen", 7)


def test_text_and_required_options() -> None:
    url = parse("amqp://h?exchange=")
    assert url.text("exchange", "default") == "default"  # empty is absent
    with pytest.raises(TargetURLError, match=r"needs \?exchange="):
        url.required("exchange")


# (url, redacted)
REDACTED = [
    ("amqp://h", "amqp://h:5672"),
    ("amqp://guest:guest@h/", "amqp://guest:***@h:5672"),
    ("amqp://:pw@h", "amqp://:***@h:5672"),
    ("amqp://us%40r@h/v%2Fhost?exchange=e", "amqp://us%40r@h:5672/v%2Fhost?exchange=e"),
    ("amqp://u:p@[::1]:1", "amqp://u:***@[::1]:1"),
]


@pytest.mark.parametrize(("url", "redacted"), REDACTED)
def test_redacted(url: str, redacted: str) -> None:
    parsed = parse(url)
    assert parsed.redacted() == redacted
    assert "password" not in repr(parsed)


def test_ssl_context_verifies_by_default(tmp_path) -> None:
    context = parse("amqps://h").ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    with pytest.raises(FileNotFoundError):
        parse(f"amqps://h?ca_file={tmp_path}/missing.pem").ssl_context()


def test_scrub_removes_the_password_plain_and_encoded() -> None:
    url = parse("amqp://u:p%2Fw%40rd@h")
    assert url.password == "p/w@rd"
    text = "failed for amqp://u:p%2Fw%40rd@h and p/w@rd"
    assert url.scrub(text) == "failed for amqp://u:***@h and ***"
    assert parse("amqp://h").scrub(text) == text
