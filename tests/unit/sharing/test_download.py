"""The pure parts of gateway/sharing/download.py and admin.py, and ShareLink.state."""

from __future__ import annotations

import pytest

from gateway.meta.base import ShareLink
from gateway.sharing.admin import parse_s3_uri
from gateway.sharing.download import content_disposition


@pytest.mark.parametrize(
    ("key", "header"),
    [
        ("a.txt", "attachment; filename=\"a.txt\"; filename*=UTF-8''a.txt"),
        ("dir/sub/r 1.pdf", "attachment; filename=\"r 1.pdf\"; filename*=UTF-8''r%201.pdf"),
        ("€.txt", "attachment; filename=\"_.txt\"; filename*=UTF-8''%E2%82%AC.txt"),
        ('q"b\\s', "attachment; filename=\"q_b_s\"; filename*=UTF-8''q%22b%5Cs"),
        ("dir/", "attachment; filename=\"download\"; filename*=UTF-8''download"),
        ("a;b\r\n", "attachment; filename=\"a;b__\"; filename*=UTF-8''a%3Bb%0D%0A"),
    ],
)
def test_content_disposition(key: str, header: str) -> None:
    assert content_disposition(key) == header


def test_parse_s3_uri() -> None:
    assert parse_s3_uri("s3://b/k/with/slashes") == ("b", "k/with/slashes")
    for bad in ("b/k", "s3://b", "s3://b/", "s3:///k", "https://b/k"):
        with pytest.raises(ValueError):
            parse_s3_uri(bad)


def _link(**fields: object) -> ShareLink:
    base: dict[str, object] = {
        "link_id": "sl-0",
        "token_hash": "h",
        "account": "a",
        "iam_user": None,
        "bucket": "b",
        "key": "k",
        "version_id": None,
        "created": 0.0,
        "expires": 100.0,
    }
    return ShareLink(**{**base, **fields})  # type: ignore[arg-type]


def test_share_link_state() -> None:
    assert _link().state(99.9) == "active"
    assert _link().state(100.0) == "expired"
    assert _link(max_downloads=2, downloads=1).state(0) == "active"
    assert _link(max_downloads=2, downloads=2).state(0) == "exhausted"
    assert _link(revoked=True, max_downloads=1, downloads=1).state(500) == "revoked"
