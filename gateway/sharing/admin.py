"""`kloudvault share create|list|revoke`: share links from the shell, on the store directly.

    kloudvault share create s3://bucket/key --expires 7d [--max-downloads N]
                            [--version-id V] [--account A] [--user U] [--base-url URL]
    kloudvault share list [--account A] [--user U]
    kloudvault share revoke LINK_ID [--account A] [--user U]

The link is created as `--account` (default root), or as its IAM user `--user`, and the
policy engine must let that creator read the object, as through the JSON API. The token
is printed once; only its hash is stored. Exit status 1 on any refusal.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from auth.credentials import ROOT_USER
from gateway.access import AccessCache
from gateway.errors import S3Error
from gateway.meta.base import MetaStore, ShareLink
from gateway.sharing.links import Caller, create_link, load_creator, read_access
from gateway.sharing.paths import download_path
from gateway.sharing.tokens import parse_duration


def parse_s3_uri(text: str) -> tuple[str, str]:
    """(bucket, key) of `s3://bucket/key`; ValueError otherwise."""
    if not text.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {text!r}")
    bucket, _, key = text[len("s3://") :].partition("/")
    if not bucket or not key:
        raise ValueError(f"{text!r} must name a bucket and a key: s3://bucket/key")
    return bucket, key


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_share_commands(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The commands, through `add(name, help)` (cli.py's leaf-command factory)."""
    create = add("create", "a link to an object (the token is shown once)")
    create.add_argument("uri", metavar="s3://BUCKET/KEY")
    create.add_argument("--expires", required=True, help="lifetime: 7d, 12h, 30m or seconds")
    create.add_argument("--max-downloads", type=int, default=None, help="downloads allowed")
    create.add_argument("--version-id", default=None, help="share this version only")
    create.add_argument("--base-url", default=None, help="print the link under this URL")
    listing = add("list", "the account's links (or one IAM user's)")
    revoke = add("revoke", "stop a link at once, on every replica")
    revoke.add_argument("link_id", metavar="LINK_ID")
    for parser in (create, listing, revoke):
        parser.add_argument("--account", default=ROOT_USER, help="the account (default: root)")
        parser.add_argument("--user", default=None, help="an IAM user of the account")


async def run_share(meta: MetaStore, args: argparse.Namespace) -> int:
    try:
        if args.share_action == "create":
            return await _create(meta, args)
        if args.share_action == "list":
            return await _list(meta, args)
        return await _revoke(meta, args)
    except (ValueError, S3Error) as err:
        message = f"{err.code.code}: {err.message}" if isinstance(err, S3Error) else str(err)
        print(f"share {args.share_action}: {message}", file=sys.stderr)
        return 1


async def _create(meta: MetaStore, args: argparse.Namespace) -> int:
    bucket_name, key = parse_s3_uri(args.uri)
    expires_in = parse_duration(args.expires)
    if args.max_downloads is not None and args.max_downloads < 1:
        raise ValueError("--max-downloads must be at least 1")
    creator = await load_creator(meta, args.account, args.user, meta.get_identity)
    if creator is None:
        who = args.account if args.user is None else f"{args.user} of {args.account}"
        raise ValueError(f"no such account or IAM user: {who}")
    now = time.time()
    access = read_access(
        meta,
        AccessCache(meta, ttl=0),
        creator,
        bucket_name,
        key,
        args.version_id,
        Caller({}, "", True, now),
    )
    made = await create_link(
        access,
        await meta.get_bucket(bucket_name),
        creator,
        expires_in=expires_in,
        max_downloads=args.max_downloads,
    )
    path = download_path(made.token)
    print(f"link:    {made.link.link_id}")
    print(f"url:     {(args.base_url or '').rstrip('/')}{path}")
    print(f"expires: {_iso(made.link.expires)}")
    if made.link.max_downloads is not None:
        print(f"max downloads: {made.link.max_downloads}")
    return 0


def _line(link: ShareLink, now: float) -> str:
    limit = "-" if link.max_downloads is None else str(link.max_downloads)
    target = f"s3://{link.bucket}/{link.key}"
    if link.version_id is not None:
        target += f"?versionId={link.version_id}"
    creator = link.iam_user or link.account
    return "\t".join(
        (
            link.link_id,
            link.state(now),
            f"{link.downloads}/{limit}",
            _iso(link.expires),
            creator,
            target,
        )
    )


async def _list(meta: MetaStore, args: argparse.Namespace) -> int:
    now = time.time()
    for link in await meta.list_share_links(args.account, args.user):
        print(_line(link, now))
    return 0


async def _revoke(meta: MetaStore, args: argparse.Namespace) -> int:
    revoked = await meta.revoke_share_link(args.account, args.link_id, args.user)
    if revoked is None:
        raise ValueError(f"no share link {args.link_id} in account {args.account}")
    print(f"revoked {revoked.link_id}")
    return 0
