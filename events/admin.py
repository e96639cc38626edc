"""`kloudvault admin target ...` and `kloudvault admin events ...`: targets and the outbox
from the shell, on the metadata store directly (so they work while the gateway runs, and
every replica sees a target added here within events.targets.registry.REFRESH seconds).

    kloudvault admin target add NAME URL [--secret S] [--ca-file F] [--timeout T]
    kloudvault admin target list
    kloudvault admin target remove NAME
    kloudvault admin events list [--dead] [--limit N]
    kloudvault admin events replay (ID... | --all)     dead events back to pending
    kloudvault admin events purge (ID... | --all)      dead events deleted

A target's ARN is arn:kloudvault:sqs:REGION:ACCOUNT:NAME (sns and lambda work too). Exit
status 1 on any refusal.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from auth.sealed import SecretSealer, UnsealError
from events.targets.base import TargetError
from events.targets.registry import WEBHOOK_SCHEMES, TargetSpec, build
from events.targets.sealing import open_target, seal_target, shown_url
from gateway.meta.outbox import EventOutbox


def add_target_commands(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    target_add = add("add", "add or replace a target (every replica sees it)")
    target_add.add_argument("name")
    target_add.add_argument("url", help="http(s)://, nats://, amqp://, mqtt:// or redis://")
    target_add.add_argument("--secret", default=None, help="webhook: HMAC-SHA256 signing key")
    target_add.add_argument("--ca-file", default=None, help="webhook: PEM CA bundle for https")
    target_add.add_argument("--timeout", type=float, default=None, help="seconds per event")
    add("list", "the targets stored (those of the settings are not listed)")
    add("remove", "remove a stored target").add_argument("name")


def add_events_commands(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    listing = add("list", "pending events (or, with --dead, the dead-letter list)")
    listing.add_argument("--dead", action="store_true", default=False)
    listing.add_argument("--limit", type=int, default=1000)
    for name, help in (
        ("replay", "put dead events back in the queue, attempts reset"),
        ("purge", "delete dead events"),
    ):
        parser = add(name, help)
        parser.add_argument("ids", metavar="ID", nargs="*", type=int, default=[])
        parser.add_argument("--all", action="store_true", default=False, help="every dead event")


async def run_target(outbox: EventOutbox, args: argparse.Namespace, sealer: SecretSealer) -> int:
    if args.target_action == "add":
        options = {
            k: v
            for k, v in (
                ("secret", args.secret),
                ("ca_file", args.ca_file),
                ("timeout", args.timeout),
            )
            if v is not None
        }
        spec = TargetSpec(args.name, args.url, options)
        if spec.scheme not in WEBHOOK_SCHEMES and (args.secret or args.ca_file):
            # Read by webhooks only: a broker takes ?ca_file= in its URL, and no secret.
            refusal = "--secret and --ca-file are for http(s) targets; a broker URL takes ?ca_file="
            print(refusal, file=sys.stderr)
            return 1
        try:  # the target's own URL checks (scheme, options): refused now, not at delivery
            build(spec)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        except TargetError as exc:  # its module cannot load here: checked when first used
            print(f"warning: {exc}", file=sys.stderr)
        # Sealed under the master key (events/targets/sealing.py): the row holds no secret.
        url, stored = seal_target(sealer, args.name, args.url, options)
        await outbox.put_event_target(args.name, url, stored, time.time())
        print(f"target {args.name}: arn:kloudvault:sqs:REGION:ACCOUNT:{args.name}")
        return 0
    if args.target_action == "list":
        for name, sealed_url, sealed_options in await outbox.list_event_targets():
            try:
                url, options = open_target(sealer, name, sealed_url, sealed_options)
            except UnsealError as exc:
                print(f"{name}\t(sealed: {exc})")
                continue
            # The secrets stay out of the output; their presence is shown.
            shown = {k: ("***" if k == "secret" else v) for k, v in options.items()}
            print(f"{name}\t{shown_url(url)}\t{json.dumps(shown) if shown else ''}".rstrip())
        return 0
    if args.target_action == "remove":
        if not await outbox.delete_event_target(args.name):
            print(f"no such target {args.name}", file=sys.stderr)
            return 1
        print(f"removed target {args.name}")
        return 0
    raise AssertionError("argparse admits no other command")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def run_events(outbox: EventOutbox, args: argparse.Namespace) -> int:
    if args.events_action == "list":
        for e in await outbox.list_events(dead=args.dead, limit=args.limit):
            print(
                f"{e.id}\t{_iso(e.event_time)}\t{e.target}\t{e.event_name}\t{e.bucket}/{e.key}"
                f"\tattempts={e.attempts}\t{e.last_error or ''}".rstrip()
            )
        pending, dead = await outbox.outbox_depth()
        print(f"# {pending} pending, {dead} dead", file=sys.stderr)
        return 0
    if not args.ids and not args.all:
        print("name the event ids, or --all", file=sys.stderr)
        return 1
    ids = None if args.all else args.ids
    if args.events_action == "replay":
        count = await outbox.replay_events(ids)
        print(f"replayed {count} event(s)")
        return 0
    if args.events_action == "purge":
        count = await outbox.purge_events(ids)
        print(f"purged {count} event(s)")
        return 0
    raise AssertionError("argparse admits no other command")
