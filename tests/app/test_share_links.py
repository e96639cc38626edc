"""Share links on the real application: created through the JSON API, the store and the
CLI; downloaded anonymously from /s/TOKEN with Range; counted, limited, expired (the
injectable clock moves), revoked, and refused once the creator may no longer read."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest

from auth.credentials import new_iam_id
from gateway import cli
from tests.app.conftest import AppFactory
from tests.app.server import AppServer
from tests.support.clients import boto3_client
from tests.support.share_api import Answer, api, download

DAY = 86400.0


class Clock:
    """time.time(), plus however far a test has moved it."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(app_factory: AppFactory, clock: Clock) -> Iterator[AppServer]:
    started = app_factory(clock=clock)
    yield started
    started.stop()


@pytest.fixture
def s3(server: AppServer) -> Any:
    return boto3_client(server)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"share-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def root(server: AppServer) -> tuple[str, str]:
    return server.access_key, server.secret_key


def create(server: AppServer, keys: tuple[str, str], **payload: Any) -> Answer:
    return api(server.endpoint, "POST", "/_kv/shares", keys=keys, payload=payload)


def created(server: AppServer, **payload: Any) -> dict[str, Any]:
    answer = create(server, root(server), **payload)
    assert answer.status == 201, answer.body
    body: dict[str, Any] = answer.json()
    return body


def listed(server: AppServer, keys: tuple[str, str] | None = None) -> dict[str, dict[str, Any]]:
    answer = api(server.endpoint, "GET", "/_kv/shares", keys=keys or root(server))
    assert answer.status == 200, answer.body
    return {link["id"]: link for link in answer.json()["shares"]}


def error_code(answer: Answer) -> str:
    text = answer.body.decode()
    if answer.headers.get("content-type", "").startswith("application/json"):
        return str(json.loads(text)["error"]["code"])
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0]


# -- create, download, count -------------------------------------------------------------------


def test_create_and_download_with_range_counts_each_get(
    server: AppServer, s3: Any, bucket: str
) -> None:
    s3.put_object(
        Bucket=bucket, Key="docs/report 2024.txt", Body=b"0123456789", ContentType="text/plain"
    )
    link = created(server, bucket=bucket, key="docs/report 2024.txt", expires="7d")
    assert link["path"] == f"/s/{link['token']}" and link["url"].endswith(link["path"])
    assert len(link["token"]) == 32 and link["state"] == "active"
    assert link["expires"] == pytest.approx(link["created"] + 7 * DAY)

    whole = download(server.endpoint, link["path"])
    assert (whole.status, whole.body) == (200, b"0123456789")
    assert whole.headers["content-disposition"] == (
        "attachment; filename=\"report 2024.txt\"; filename*=UTF-8''report%202024.txt"
    )
    assert whole.headers["content-type"] == "text/plain"
    assert whole.headers["cache-control"] == "private, no-store"

    part = download(server.endpoint, link["path"], headers={"Range": "bytes=2-5"})
    assert (part.status, part.body) == (206, b"2345")
    assert part.headers["content-range"] == "bytes 2-5/10"

    head = download(server.endpoint, link["path"], method="HEAD")
    assert head.status == 200 and head.headers["content-length"] == "10"
    unchanged = download(
        server.endpoint, link["path"], headers={"If-None-Match": whole.headers["etag"]}
    )
    assert unchanged.status == 304

    # Two GETs with a body counted; HEAD and the 304 not.
    assert listed(server)[link["id"]]["downloads"] == 2
    # The token is shown once: listings never carry it.
    assert "token" not in listed(server)[link["id"]]


def test_unknown_and_malformed_tokens_are_404(server: AppServer) -> None:
    for path in ("/s/" + "A" * 32, "/s/short", "/s/", "/s/" + "A" * 31 + "%2F"):
        answer = download(server.endpoint, path)
        assert (answer.status, error_code(answer)) == (404, "NoSuchShareLink"), path


def test_pinned_version_survives_overwrites(server: AppServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"first")["VersionId"]
    pinned = created(server, bucket=bucket, key="k", versionId=first, expires=3600)
    latest = created(server, bucket=bucket, key="k", expires="1h")
    s3.put_object(Bucket=bucket, Key="k", Body=b"second")
    assert download(server.endpoint, pinned["path"]).body == b"first"
    assert download(server.endpoint, latest["path"]).body == b"second"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=first)
    assert download(server.endpoint, pinned["path"]).status == 404


def test_max_downloads_is_enforced_under_concurrency(
    server: AppServer, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 100_000)
    link = created(server, bucket=bucket, key="k", expires="1d", maxDownloads=3)
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: download(server.endpoint, link["path"]), range(10)))
    statuses = sorted(a.status for a in answers)
    assert statuses == [200] * 3 + [410] * 7
    assert all(len(a.body) == 100_000 for a in answers if a.status == 200)
    assert {error_code(a) for a in answers if a.status == 410} == {"ShareLinkGone"}
    after = listed(server)[link["id"]]
    assert (after["downloads"], after["state"]) == (3, "exhausted")


def test_expiry_follows_the_clock(server: AppServer, s3: Any, bucket: str, clock: Clock) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    link = created(server, bucket=bucket, key="k", expires="12h")
    clock.advance(12 * 3600 - 60)
    assert download(server.endpoint, link["path"]).status == 200
    clock.advance(61)
    gone = download(server.endpoint, link["path"])
    assert (gone.status, error_code(gone)) == (410, "ShareLinkGone")
    assert b"expired" in gone.body


# -- revoke ------------------------------------------------------------------------------------


def test_revoke_through_the_api(server: AppServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    link = created(server, bucket=bucket, key="k", expires="1d")
    assert download(server.endpoint, link["path"]).status == 200
    revoked = api(server.endpoint, "DELETE", f"/_kv/shares/{link['id']}", keys=root(server))
    assert revoked.status == 200 and revoked.json()["state"] == "revoked"
    gone = download(server.endpoint, link["path"])
    assert (gone.status, error_code(gone)) == (410, "ShareLinkGone")
    assert b"revoked" in gone.body
    assert listed(server)[link["id"]]["state"] == "revoked"
    missing = api(server.endpoint, "DELETE", "/_kv/shares/sl-0000000000000000", keys=root(server))
    assert (missing.status, error_code(missing)) == (404, "NoSuchShareLink")


def test_other_accounts_cannot_see_or_revoke(server: AppServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    link = created(server, bucket=bucket, key="k", expires="1d")
    other = server.create_user(f"acct{uuid.uuid4().hex[:8]}")
    assert listed(server, other) == {}
    refused = api(server.endpoint, "DELETE", f"/_kv/shares/{link['id']}", keys=other)
    assert refused.status == 404
    # Nor can they link to an object they cannot read.
    denied = create(server, other, bucket=bucket, key="k", expires="1d")
    assert (denied.status, error_code(denied)) == (403, "AccessDenied")
    assert download(server.endpoint, link["path"]).status == 200


# -- the creator's access ------------------------------------------------------------------------


def _iam_user_with_read(server: AppServer, bucket: str) -> tuple[str, tuple[str, str]]:
    name = f"reader{uuid.uuid4().hex[:6]}"
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )

    async def make() -> tuple[str, str]:
        meta = server.services.meta
        now = time.time()
        await meta.create_iam_user("root", name, path="/", user_id=new_iam_id("AIDA"), now=now)
        await meta.put_inline_policy("root", "user", name, "read", document)
        access, secret = f"KV{uuid.uuid4().hex[:18].upper()}", uuid.uuid4().hex
        await meta.create_user_access_key("root", name, access, secret, now=now)
        return access, secret

    return name, server.call(make())


def test_link_stops_when_the_creator_loses_read_access(
    server: AppServer, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    name, keys = _iam_user_with_read(server, bucket)
    answer = create(server, keys, bucket=bucket, key="k", expires="1d")
    assert answer.status == 201, answer.body
    link = answer.json()
    assert link["createdBy"] == name
    assert download(server.endpoint, link["path"]).status == 200
    # The IAM user sees only its own links; the account sees them all.
    assert set(listed(server, keys)) == {link["id"]}
    assert link["id"] in listed(server)
    # Without a GetObjectVersion grant it cannot pin a version.
    pinned = create(server, keys, bucket=bucket, key="k", expires="1d", versionId="null")
    assert (pinned.status, error_code(pinned)) == (403, "AccessDenied")

    server.call(server.services.meta.delete_inline_policy("root", "user", name, "read"))
    denied = download(server.endpoint, link["path"])
    assert (denied.status, error_code(denied)) == (403, "AccessDenied")
    assert listed(server)[link["id"]]["downloads"] == 1


def test_link_stops_when_a_bucket_policy_denies_the_creator(
    server: AppServer, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    link = created(server, bucket=bucket, key="k", expires="1d")
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/k",
                    }
                ],
            }
        ),
    )
    assert download(server.endpoint, link["path"]).status == 403
    s3.delete_bucket_policy(Bucket=bucket)
    assert download(server.endpoint, link["path"]).status == 200


# -- bad requests to the API -------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"key": "k", "expires": "1d"},
        {"bucket": "b", "expires": "1d"},
        {"bucket": "b", "key": "k"},
        {"bucket": "b", "key": "k", "expires": "soon"},
        {"bucket": "b", "key": "k", "expires": "400d"},
        {"bucket": "b", "key": "k", "expires": "1d", "maxDownloads": 0},
        {"bucket": "b", "key": "k", "expires": "1d", "color": "red"},
        ["not", "an", "object"],
    ],
)
def test_create_rejects_bad_bodies(server: AppServer, payload: Any) -> None:
    answer = api(server.endpoint, "POST", "/_kv/shares", keys=root(server), payload=payload)
    assert (answer.status, error_code(answer)) == (400, "InvalidArgument")


def test_api_needs_a_valid_signature(server: AppServer, s3: Any, bucket: str) -> None:
    anonymous = api(server.endpoint, "GET", "/_kv/shares", keys=None)
    assert (anonymous.status, error_code(anonymous)) == (403, "AccessDenied")
    forged = api(server.endpoint, "GET", "/_kv/shares", keys=(server.access_key, "wrong"))
    assert (forged.status, error_code(forged)) == (403, "SignatureDoesNotMatch")
    missing = create(server, root(server), bucket=bucket, key="nope", expires="1d")
    assert (missing.status, error_code(missing)) == (404, "NoSuchKey")


# -- the CLI, on the store of a running server ----------------------------------------------------


def test_cli_create_list_revoke(
    server: AppServer, s3: Any, bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=bucket, Key="dir/ünï.bin", Body=b"payload")
    store = ["--data-dir", str(server.data_dir)]
    uri = f"s3://{bucket}/dir/ünï.bin"
    argv = ["share", "create", uri, "--expires", "2h", "--max-downloads", "5"]
    assert cli.main([*argv, "--base-url", server.endpoint + "/", *store]) == 0
    out = capsys.readouterr().out
    fields = dict(line.split(":", 1) for line in out.splitlines())
    link_id, url = fields["link"].strip(), fields["url"].strip()
    assert url.startswith(server.endpoint + "/s/")
    got = download(server.endpoint, url[len(server.endpoint) :])
    assert got.status == 200 and got.body == b"payload"
    assert "filename*=UTF-8''%C3%BCn%C3%AF.bin" in got.headers["content-disposition"]

    assert cli.main(["share", "list", *store]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(link_id))
    assert line.split("\t")[1:3] == ["active", "1/5"]
    assert line.endswith(uri)

    assert cli.main(["share", "revoke", link_id, *store]) == 0
    assert download(server.endpoint, url[len(server.endpoint) :]).status == 410
    assert cli.main(["share", "revoke", "sl-0000000000000000", *store]) == 1

    # Refusals: a missing object, a bad duration, an unknown creator.
    assert cli.main(["share", "create", f"s3://{bucket}/none", "--expires", "1d", *store]) == 1
    assert "NoSuchKey" in capsys.readouterr().err
    assert cli.main(["share", "create", uri, "--expires", "forever", *store]) == 1
    assert cli.main(["share", "create", uri, "--expires", "1d", "--user", "ghost", *store]) == 1


def test_key_with_reserved_characters(server: AppServer, s3: Any, bucket: str) -> None:
    key = 'a/b"c\\d?e.txt'
    s3.put_object(Bucket=bucket, Key=key, Body=b"q")
    link = created(server, bucket=bucket, key=key, expires="1h")
    got = download(server.endpoint, link["path"])
    assert got.status == 200
    name = key.rsplit("/", 1)[1]
    expected = "attachment; filename=\"b_c_d?e.txt\"; filename*=UTF-8''" + quote(name, safe="")
    assert got.headers["content-disposition"] == expected
