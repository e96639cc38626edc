"""`kloudvault admin quota set|show|clear`: quotas from the shell (gateway/meta/quotas.py).

    kloudvault admin quota set --bucket photos --bytes 10GiB --objects 100000
    kloudvault admin quota set --account alice --bytes 1TiB
    kloudvault admin quota show [--bucket B | --account A]
    kloudvault admin quota clear --bucket photos

`set` replaces the quota: a dimension left out is unlimited. Takes effect on every replica
at the next write (quotas are read from the metadata store, never cached).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable

from gateway.errors import S3Error
from gateway.limits.quota import QuotaUse, Scope
from gateway.meta.base import MetaStore

_SIZE = re.compile(r"(?P<n>\d+)\s*(?P<unit>[KMGTP]?)(?:i?B)?", re.IGNORECASE)
_UNITS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5}


def parse_size(text: str) -> int:
    """Bytes from `123`, `10G`, `10GiB`, `512MB` (binary multiples: 1K = 1024)."""
    m = _SIZE.fullmatch(text.strip())
    if m is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1000000, 500M, 10GiB)")
    return int(m["n"]) << (10 * _UNITS[str(m["unit"]).upper()])


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a count: {text!r}")
    return int(text)


def _target(parser: argparse.ArgumentParser, *, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--bucket", help="a bucket")
    group.add_argument("--account", help="an account: the sum over the buckets it owns")


def add_quota_commands(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The commands, through `add(name, help)` (cli.py's leaf-command factory)."""
    set_parser = add("set", "set (replace) a bucket's or an account's quota")
    _target(set_parser, required=True)
    set_parser.add_argument("--bytes", type=parse_size, help="bytes at most (e.g. 10GiB)")
    set_parser.add_argument("--objects", type=_count, help="object versions at most")
    _target(add("show", "quotas with their usage (all, or one)"), required=False)
    _target(add("clear", "remove a quota"), required=True)


def _scope(args: argparse.Namespace) -> tuple[Scope, str] | None:
    if getattr(args, "bucket", None):
        return "bucket", args.bucket
    if getattr(args, "account", None):
        return "account", args.account
    return None


def _line(use: QuotaUse) -> str:
    q, u = use.quota, use.used

    def of(used: int, limit: int | None) -> str:
        if limit is None:
            return f"{used}/-"
        return f"{used}/{limit} ({100 * used / limit:.0f}%)" if limit else f"{used}/0"

    sizes = f"bytes {of(u.bytes, q.max_bytes)}\tobjects {of(u.objects, q.max_objects)}"
    return f"{q.scope}\t{q.name}\t{sizes}"


async def run_quota(meta: MetaStore, args: argparse.Namespace) -> int:
    target = _scope(args)
    if args.quota_action == "set":
        assert target is not None  # a required argument group
        max_bytes, max_objects = getattr(args, "bytes", None), getattr(args, "objects", None)
        if max_bytes is None and max_objects is None:
            print("give --bytes and/or --objects (or use `quota clear`)", file=sys.stderr)
            return 2
        try:
            await meta.set_quota(*target, max_bytes, max_objects)
        except (S3Error, KeyError):
            print(f"no such {target[0]} {target[1]}", file=sys.stderr)
            return 1
        print(f"quota set on {target[0]} {target[1]}")
        return 0
    if args.quota_action == "clear":
        assert target is not None
        if not await meta.clear_quota(*target):
            print(f"no quota on {target[0]} {target[1]}", file=sys.stderr)
            return 1
        print(f"quota cleared on {target[0]} {target[1]}")
        return 0
    uses = await meta.list_quotas()
    if target is not None:
        uses = [u for u in uses if (u.quota.scope, u.quota.name) == target]
        if not uses:
            print(f"no quota on {target[0]} {target[1]}", file=sys.stderr)
            return 1
    for use in uses:
        print(_line(use))
    return 0
