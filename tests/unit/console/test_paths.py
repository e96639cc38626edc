"""gateway/console/paths.py: the console takes only unsigned GET/HEAD of its own files
under /console/ and the /_kv/console API; everything else stays S3's."""

from __future__ import annotations

import pytest

from gateway.console.paths import console_here, is_api_path, page_name

FILES = frozenset({"index.html", "js/app.js"})


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "expected"),
    [
        ("GET", "/console/", (), {}, "index.html"),
        ("HEAD", "/console/js/app.js", (), {}, "js/app.js"),
        ("GET", "/console", (), {}, ""),
        ("GET", "/console/other-key", (), {}, None),  # a key of a bucket named console
        ("PUT", "/console/index.html", (), {}, None),
        ("GET", "/console/index.html", (), {"authorization": "AWS4-HMAC-SHA256 ..."}, None),
        ("GET", "/console/index.html", ("X-Amz-Signature",), {}, None),
        ("GET", "/console/index.html", ("Signature",), {}, None),
        ("GET", "/consoles/index.html", (), {}, None),
    ],
)
def test_page_name(
    method: str,
    path: str,
    query: tuple[str, ...],
    headers: dict[str, str],
    expected: str | None,
) -> None:
    assert page_name(method, "h", path, query, headers, None, FILES) == expected


def test_virtual_host_requests_are_never_the_consoles() -> None:
    assert page_name("GET", "b.s3.test", "/console/", (), {}, "s3.test", FILES) is None
    assert not is_api_path("b.s3.test", "/_kv/console/session", "s3.test")
    assert is_api_path("s3.test", "/_kv/console/session", "s3.test")
    assert not is_api_path("h", "/_kv/consoles", None)


def test_console_here_only_on_its_listener_when_it_has_one() -> None:
    assert console_here(7373, None) and console_here(None, None)
    assert console_here(8082, ("0.0.0.0", 8082))
    assert not console_here(7373, ("0.0.0.0", 8082))
    assert not console_here(None, ("127.0.0.1", 8082))
