"""backends/s3: the relay's presigned GetObject URLs, signed by auth/presign.py, are the
ones botocore's generate_presigned_url makes for the same blob, time and credentials
(path-style; virtual hosts use botocore's; their use against a real SeaweedFS:
tests/app/test_object_relay.py)."""

from __future__ import annotations

import asyncio
import datetime
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
import botocore.crt.auth
import pytest

from backends.s3.backend import S3Backend

NOW = 1_780_000_000.0  # 2026-05-28


def _parts(url: str) -> tuple[str, str, str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc, parts.path, dict(parse_qsl(parts.query))


@pytest.mark.parametrize(
    ("endpoint", "prefix", "token"),
    [
        ("http://127.0.0.1:8333", "", None),
        ("http://s3.internal:9000", "blobs/é spaced+odd~/", "session-token/with+chars="),
        ("http://minio.internal", "p/", None),
    ],
)
def test_presigned_get_is_botocores(
    monkeypatch: pytest.MonkeyPatch, endpoint: str, prefix: str, token: str | None
) -> None:
    backend = S3Backend(
        endpoint,
        "kv-blobs",
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token=token,
        prefix=prefix,
        region="eu-west-3",
        create_bucket=False,
        server_md5=False,
    )

    def fixed(remove_tzinfo: bool = True) -> datetime.datetime:
        now = datetime.datetime.fromtimestamp(NOW, datetime.UTC)
        return now.replace(tzinfo=None) if remove_tzinfo else now

    # botocore signs with awscrt when it is installed (it is, for the checksums).
    monkeypatch.setattr(botocore.auth, "get_current_datetime", fixed)
    monkeypatch.setattr(botocore.crt.auth, "get_current_datetime", fixed)

    async def botocores() -> str:
        client = await backend._ready()
        try:
            url: str = await client.generate_presigned_url(
                "get_object",
                Params={"Bucket": "kv-blobs", "Key": f"{prefix}0123abcd"},
                ExpiresIn=900,
            )
            return url
        finally:
            await backend.close()

    expected = asyncio.run(botocores())
    assert _parts(backend._presigned_get("0123abcd", now=NOW)) == _parts(expected)
