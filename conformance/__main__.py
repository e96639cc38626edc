"""`python -m conformance --endpoint URL --access-key K --secret-key S [...]`.

Drives real clients through the scenarios against the endpoint, prints the feature x client
matrix as Markdown and writes matrix.md and matrix.json into --out. Exits 0 when the run
completed (failures are results, not errors), 1 when a feature named in --expect-pass has a
failure, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from conformance.clients import Endpoint
from conformance.matrix import Matrix, dumps, render_markdown
from conformance.registry import CLIENTS, FEATURES, select
from conformance.runner import FAIL, Result, RunError, run


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m conformance", description=__doc__)
    p.add_argument("--endpoint", required=True, help="URL (or HOST:PORT) of the S3 endpoint")
    p.add_argument("--access-key", default=os.environ.get("AWS_ACCESS_KEY_ID"))
    p.add_argument("--secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY"))
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--https", action="store_true", help="use https when --endpoint has no scheme")
    p.add_argument("--ca-bundle", help="PEM CA bundle the clients trust (https)")
    p.add_argument("--out", help="directory for matrix.md and matrix.json")
    p.add_argument("--features", type=_csv, help=f"comma-separated subset of: {','.join(FEATURES)}")
    p.add_argument("--clients", type=_csv, help=f"comma-separated subset of: {','.join(CLIENTS)}")
    p.add_argument("--quick", action="store_true", help="one or two scenarios per cell")
    p.add_argument("--jobs", type=int, default=4, help="scenarios run at once (default 4)")
    p.add_argument("--list", action="store_true", help="list the selected scenarios and exit")
    p.add_argument(
        "--expect-pass",
        type=_csv,
        default=[],
        help="features that must have no failure (else exit status 1)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print each result as it ends")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name, allowed in (("features", FEATURES), ("clients", CLIENTS)):
        unknown = sorted(set(getattr(args, name) or ()) - set(allowed))
        if unknown:
            print(f"unknown {name}: {', '.join(unknown)}", file=sys.stderr)
            return 2
    if args.list:
        for sc in select(
            set(args.features) if args.features else None,
            set(args.clients) if args.clients else None,
            quick=args.quick,
        ):
            print(sc.id + (f"  (n/s: {sc.reason})" if sc.fn is None else ""))
        return 0
    if not args.access_key or not args.secret_key:
        print("--access-key and --secret-key (or AWS_* variables) are required", file=sys.stderr)
        return 2
    url = args.endpoint
    if "://" not in url:
        url = ("https://" if args.https else "http://") + url
    workdir = Path(tempfile.mkdtemp(prefix="kv-conformance-clients-"))
    ep = Endpoint(
        url=url.rstrip("/"),
        access_key=args.access_key,
        secret_key=args.secret_key,
        workdir=workdir,
        region=args.region,
        ca_bundle=Path(args.ca_bundle) if args.ca_bundle else None,
    )

    def progress(r: Result) -> None:
        if args.verbose or r.status == FAIL:
            line = f"[{r.status:4}] {r.feature}/{r.client}/{r.scenario} ({r.seconds:.1f}s)"
            print(line, file=sys.stderr, flush=True)

    try:
        info = run(
            ep,
            features=args.features,
            clients=args.clients,
            quick=args.quick,
            jobs=args.jobs,
            progress=progress,
        )
    except RunError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    matrix = Matrix(info.results)
    markdown = render_markdown(matrix, info)
    print(markdown)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "matrix.md").write_text(markdown)
        (out / "matrix.json").write_text(dumps(matrix, info))
    bad = [f for f in args.expect_pass if matrix.feature_status(f) == FAIL]
    if bad:
        print(f"expected to pass, but failing: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
