"""`kloudvault admin kms ...`: the built-in KMS's keys, from the shell, and key rotation.

    kloudvault admin kms create [--account A] [--alias alias/NAME] [--description D]
    kloudvault admin kms list [--account A]
    kloudvault admin kms enable|disable KEY_ID
    kloudvault admin kms rotate KEY_ID [--reseal-only]
    kloudvault admin kms rotate-master --master-key-file NEW --previous-master-key-file OLD

`rotate` gives the key a new version, then re-seals every data key sealed under an older
version (versions and the parts of uploads in progress) under the new one: only metadata
rows change, never a blob. Each row is swapped only if it is still as read, so it runs
beside a serving gateway; `--reseal-only` resumes an interrupted run. Older key versions
stay, so a reader holding an old row still opens it.

`rotate-master` moves from one master key to another, in three steps: restart the gateways
with the new key and `--previous-master-key-file OLD` (they seal under the new key and open
under both), run `rotate-master` with the same two keys (it re-seals every SSE-S3 data key
and every KMS key version under the new key, rows only), then restart without the old key.
Exit status 1 on any refusal.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from auth.credentials import ROOT_USER
from gateway.codec.keys import SSE_S3, KeyMismatch, reseal_data_key, sse_s3_kek
from gateway.codec.kms import BuiltinKms, KmsError, kms_kek, open_material, seal_material
from gateway.meta.base import CodedRow, KmsKey, MetaStore, Segment


def add_kms_commands(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The commands, through `add(name, help)` (cli.py's leaf-command factory)."""
    create = add("create", "a new KMS key (its id is printed)")
    create.add_argument("--account", default=ROOT_USER, help="the account (default: root)")
    create.add_argument("--alias", default=None, help="alias/NAME, unique in the account")
    create.add_argument("--description", default=None)
    listing = add("list", "the keys (of one account), their state and versions")
    listing.add_argument("--account", default=None, help="only this account's keys")
    for name, help in (
        ("enable", "let a key seal and open data keys again"),
        ("disable", "refuse every read and write under a key"),
    ):
        add(name, help).add_argument("key_id", metavar="KEY_ID")
    rotate = add("rotate", "a new key version; re-seal data keys under it (no blob rewritten)")
    rotate.add_argument("key_id", metavar="KEY_ID")
    rotate.add_argument(
        "--reseal-only", action="store_true", default=False, help="no new version: resume"
    )
    add(
        "rotate-master",
        "re-seal SSE-S3 data keys and KMS keys from --previous-master-key-file to the master key",
    )


def _line(kms: BuiltinKms, key: KmsKey) -> str:
    state = "Enabled" if key.enabled else "Disabled"
    created = datetime.fromtimestamp(key.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    alias = key.alias or "-"
    return f"{key.key_id}\t{alias}\t{state}\tv{key.current_version}\t{created}\t{kms.arn(key)}"


async def run_kms(kms: BuiltinKms, args: argparse.Namespace) -> int:
    action = args.kms_action
    try:
        if action == "create":
            key = await kms.create_key(args.account, args.alias, args.description)
            print(f"key id: {key.key_id}")
            print(f"arn:    {kms.arn(key)}")
            return 0
        if action == "list":
            for key in await kms.meta.list_kms_keys(args.account):
                print(_line(kms, key))
            return 0
        if action in ("enable", "disable"):
            if not await kms.set_enabled(args.key_id, action == "enable"):
                raise KmsError(f"no KMS key {args.key_id}", args.key_id)
            print(f"{args.key_id} is {action}d")
            return 0
        if action == "rotate-master":
            master = await reseal_master(kms)
            print(f"re-sealed: {master.versions} version(s), {master.parts} part(s)")
            print(f"re-sealed: {master.kms_keys} KMS key(s)")
            return 0
        await kms.material(args.key_id, 0)  # a disabled or missing key is not rotated
        if not args.reseal_only:
            rotated = await kms.add_version(args.key_id)
            if rotated is None:
                raise KmsError(f"no KMS key {args.key_id} (or a rotation ran at once)", "")
            print(f"{args.key_id} is at version {rotated.current_version}")
        report = await reseal(kms, args.key_id)
        print(f"re-sealed: {report.versions} version(s), {report.parts} part(s)")
        if report.changed:
            print(f"changed meanwhile (written anew, already current): {report.changed}")
        return 0
    except (KmsError, KeyError, ValueError) as err:
        print(f"kms {action}: {err}", file=sys.stderr)
        return 1


@dataclass
class ResealReport:
    versions: int = 0
    parts: int = 0
    changed: int = 0  # rows replaced by a write while being re-sealed
    kms_keys: int = 0

    def count(self, row: CodedRow, replaced: bool) -> None:
        """One re-sealed version or upload part; not `replaced`: a write changed it meanwhile."""
        if not replaced:
            self.changed += 1
        elif row.upload_id is None:
            self.versions += 1
        else:
            self.parts += 1


async def _resealed(
    kms: BuiltinKms, key_id: str, current: int, row: CodedRow
) -> tuple[Segment, ...] | None:
    """The row's segments with every data key of `key_id` under version `current`; None
    when none needed it."""
    out: list[Segment] = []
    touched = False
    for seg in row.segments:
        codec = seg.codec
        ref = codec.kms if codec is not None else None
        if codec is None or ref is None or ref.key_id != key_id or ref.key_version == current:
            out.append(seg)
            continue
        _, old = await kms.material(key_id, ref.key_version)
        _, new = await kms.material(key_id, current)
        sealed = reseal_data_key(
            codec,
            kms_kek(old, key_id, row.bucket, row.key, ref.context),
            kms_kek(new, key_id, row.bucket, row.key, ref.context),
        )
        kms_ref = replace(ref, key_version=current)
        out.append(replace(seg, codec=replace(codec, sealed_key=sealed, kms=kms_ref)))
        touched = True
    return tuple(out) if touched else None


def _part_position(row: CodedRow) -> tuple[str, int, str]:
    """Where coded_parts resumes after `row` (an upload part: one segment)."""
    seg = row.segments[0]
    return (row.upload_id or "", seg.part_number or 0, seg.blob_id)


async def _coded_rows(meta: MetaStore, contains: str) -> AsyncIterator[CodedRow]:
    """Every version, then every upload part, whose segments' JSON holds `contains`, page
    after page (coded_versions, coded_parts)."""
    after: tuple[str, str, str] = ("", "", "")
    while rows := await meta.coded_versions(contains, after):
        for row in rows:
            yield row
        last = rows[-1]
        after = (last.bucket, last.key, last.version_id or "")
    part_after: tuple[str, int, str] = ("", 0, "")
    while rows := await meta.coded_parts(contains, part_after):
        for row in rows:
            yield row
        part_after = _part_position(rows[-1])


async def reseal(kms: BuiltinKms, key_id: str) -> ResealReport:
    """Re-seal every data key of `key_id` under its current version (module docstring)."""
    key, _ = await kms.material(key_id, 0)  # refuses a disabled or missing key
    current = key.current_version
    contains = f'"kms":{{"id":"{key_id}"'
    report = ResealReport()
    async for row in _coded_rows(kms.meta, contains):
        segments = await _resealed(kms, key_id, current, row)
        if segments is not None:
            report.count(row, await kms.meta.replace_segments(row, segments))
    return report


def _resealed_sse_s3(current: bytes, previous: bytes, row: CodedRow) -> tuple[Segment, ...] | None:
    """The row's SSE-S3 segments sealed under `current` instead of `previous`; None when
    none was under `previous`."""
    old, new = sse_s3_kek(previous, row.bucket, row.key), sse_s3_kek(current, row.bucket, row.key)
    out: list[Segment] = []
    touched = False
    for seg in row.segments:
        codec = seg.codec
        if codec is None or codec.mode != SSE_S3:
            out.append(seg)
            continue
        try:
            sealed = reseal_data_key(codec, old, new)
        except KeyMismatch:  # under the current key already (written since the restart)
            out.append(seg)
            continue
        out.append(replace(seg, codec=replace(codec, sealed_key=sealed)))
        touched = True
    return tuple(out) if touched else None


async def reseal_master(kms: BuiltinKms) -> ResealReport:
    """Re-seal SSE-S3 data keys and KMS key versions from the previous master key to the
    current one (module docstring)."""
    keys = kms.master_keys()
    if len(keys) != 2:
        raise ValueError("rotate-master needs --previous-master-key-file (the old key)")
    current, previous = keys
    meta = kms.meta
    report = ResealReport()
    contains = f'"mode":"{SSE_S3}"'
    async for row in _coded_rows(meta, contains):
        segments = _resealed_sse_s3(current, previous, row)
        if segments is not None:
            report.count(row, await meta.replace_segments(row, segments))
    for key in await meta.list_kms_keys():
        versions = []
        for number, sealed in enumerate(key.versions):
            try:
                open_material(current, key.key_id, number, sealed)
                versions.append(sealed)
            except ValueError:
                material = open_material(previous, key.key_id, number, sealed)
                versions.append(seal_material(current, key.key_id, number, material))
        if tuple(versions) != key.versions:
            if await meta.replace_kms_key_versions(key.key_id, key.versions, tuple(versions)):
                report.kms_keys += 1
    return report
