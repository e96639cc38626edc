"""backends/s3: reading an MD5 from a PutObject ETag, and the probe that decides whether a
server's ETags are MD5s, against a stand-in client that answers as such a server would
(a real SeaweedFS, whose ETags are MD5s, is in tests/app/test_backend_md5.py)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from backends.base import BackendUnavailable
from backends.s3.backend import S3Backend, etag_md5

DIGEST = hashlib.md5(b"x").digest()


@pytest.mark.parametrize(
    ("etag", "expected"),
    [
        (f'"{DIGEST.hex()}"', DIGEST),
        (f'"{DIGEST.hex().upper()}"', DIGEST),
        (DIGEST.hex(), None),  # unquoted
        (f'W/"{DIGEST.hex()}"', None),  # weak
        (f'"{DIGEST.hex()[:-2]}-2"', None),  # a multipart ETag's shape
        (f'"{DIGEST.hex()}-2"', None),
        ('"' + "zz" * 16 + '"', None),
        ('"' + "ab " * 10 + "ab" + '"', None),  # fromhex would skip the spaces
        ("", None),
        (None, None),
    ],
)
def test_etag_md5(etag: object, expected: bytes | None) -> None:
    assert etag_md5(etag) == expected


class _Server:
    """Answers PutObject with an ETag made by `etag` from the body, or raises `error`."""

    def __init__(self, etag: Any = None, error: Exception | None = None) -> None:
        self.etag = etag
        self.error = error
        self.stored: dict[str, bytes] = {}

    async def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentLength: int) -> Any:
        if self.error is not None:
            raise self.error
        assert len(Body) == ContentLength
        self.stored[Key] = Body
        return {"ETag": self.etag(Body)}

    async def delete_object(self, *, Bucket: str, Key: str) -> Any:
        self.stored.pop(Key, None)
        return {}


def _backend() -> S3Backend:
    return S3Backend("http://127.0.0.1:9", "b", access_key="a", secret_key="s", prefix="p/")


def _probe(server: _Server) -> bool:
    return asyncio.run(_backend()._probe_etag(server))


def test_probe_md5_etags() -> None:
    server = _Server(lambda body: f'"{hashlib.md5(body).hexdigest()}"')
    assert _probe(server) is True
    assert server.stored == {}  # the probe was deleted


@pytest.mark.parametrize(
    "etag",
    [
        lambda body: f'"{hashlib.sha256(body).hexdigest()[:32]}"',  # 32 hex digits, not the MD5
        lambda body: '"opaque-etag"',
        lambda body: None,
    ],
)
def test_probe_other_etags(etag: Any) -> None:
    server = _Server(etag)
    assert _probe(server) is False
    assert server.stored == {}


def test_probe_refused_means_hash_locally() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
    assert _probe(_Server(error=denied)) is False


def test_probe_unreachable_is_not_ready() -> None:
    down = EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    with pytest.raises(BackendUnavailable):
        _probe(_Server(error=down))


def test_digests_only_single_puts_of_known_size() -> None:
    backend = S3Backend(
        "http://127.0.0.1:9",
        "b",
        access_key="a",
        secret_key="s",
        part_size=5 * 2**20,
        single_put_max=8 * 2**20,
    )
    assert not backend.digests(2**20)  # not probed yet: hash locally
    backend._etag_is_md5 = True
    assert backend.digests(0) and backend.digests(8 * 2**20)
    assert not backend.digests(None)  # an unknown size may become a multipart upload
    assert not backend.digests(8 * 2**20 + 1)  # a multipart upload: its ETag is no MD5
