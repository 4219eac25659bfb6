"""``python3 -m tessera.dask``: the common cases of tessera.dask from the command line."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, List, Optional

from ._tessera import Error

_CLUSTER_HELP = (
    "Dask scheduler address, e.g. tcp://scheduler:8786 (default: start a LocalCluster of "
    "--workers processes on this machine)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m tessera.dask",
        description="tessera on a Dask cluster: mosaics of many targets, libraries in shards.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def cluster_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--scheduler", help=_CLUSTER_HELP)
        p.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1,
            help="worker processes of the LocalCluster (one thread each), without --scheduler",
        )
        p.add_argument("--progress", action="store_true", help="show a progress bar")

    mosaic = commands.add_parser(
        "mosaic",
        help="rebuild many targets, one task each",
        description="Rebuild every target from LIBRARY (a .tsr file, or a sharded library's "
        "directory or manifest.json), one Dask task per target (a sharded library: one target "
        "at a time, searched in every shard), writing OUT_DIR/<target name><suffix> "
        "atomically.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    mosaic.add_argument("library", help="library file, or a sharded library (directory or manifest)")
    mosaic.add_argument("targets", nargs="+", help="target image files")
    mosaic.add_argument("--out-dir", required=True, help="directory for the mosaics")
    mosaic.add_argument("--suffix", default=".png", help="output extension: its format")
    mosaic.add_argument("--threads", type=int, default=1, help="threads per mosaic (0: all cores)")
    mosaic.add_argument("--max-uses", type=int, default=None, help="as tessera mosaic --max-uses (a .tsr library only)")
    mosaic.add_argument("--min-distance", type=int, default=None, help="as tessera mosaic --min-distance (a .tsr library only)")
    cluster_options(mosaic)

    build = commands.add_parser(
        "build",
        help="build a library in shards",
        description="Build a library from SOURCES in --shards shards on the workers, with "
        "OUT_DIR/manifest.json listing them: the same patches and ids as `tessera build` from "
        "the same sources.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    build.add_argument("sources", nargs="+", help="image files and directories")
    build.add_argument("--out-dir", required=True, help="directory for the shards and manifest")
    build.add_argument("--shards", type=int, default=8, help="number of shards")
    build.add_argument("--tile", type=int, default=16, help="tile side (square)")
    build.add_argument("--stride", type=int, default=None, help="step between windows (default: the tile)")
    build.add_argument("--rotations", default="0", help="comma-separated degrees: 0,90,180,270")
    build.add_argument("--flips", action="store_true", help="add mirrored patches")
    build.add_argument("--mode", choices=("gray", "rgb"), default="rgb", help="library mode")
    cluster_options(build)
    return parser


def _client(args: argparse.Namespace) -> Any:
    from distributed import Client, LocalCluster

    if args.scheduler:
        return Client(args.scheduler)
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True)
    return Client(cluster)


def _sharded(library: str) -> bool:
    return os.path.isdir(library) or library.endswith(".json")


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    from . import dask as td

    if args.command == "mosaic" and _sharded(args.library) and (
        args.max_uses is not None or args.min_distance is not None
    ):  # the sharded mosaic takes each tile's nearest patch
        print(f"error: {args.library}: --max-uses and --min-distance need a .tsr library file, "
              "not a sharded library", file=sys.stderr)
        return 1

    try:
        with _client(args) as client:
            if args.command == "build":
                rotations = [int(r) for r in args.rotations.split(",") if r]
                shards = td.build_sharded(
                    client, args.sources, args.out_dir, args.shards, progress=args.progress,
                    tile=args.tile, stride=args.stride, rotations=rotations, flips=args.flips,
                    mode=args.mode,
                )
                print(f"{shards.path}: {len(shards)} patches in {len(shards.shards)} shards")
                return 0
            if _sharded(args.library):
                shards = td.open_sharded(args.library, client)
                os.makedirs(args.out_dir, exist_ok=True)
                from . import _tessera

                for target in args.targets:
                    name = os.path.splitext(os.path.basename(target))[0] + args.suffix
                    output = os.path.join(args.out_dir, name)
                    _tessera.save_image(os.fsencode(output), shards.mosaic(target, args.threads))
                    print(output)
                return 0
            for output in td.mosaic_many(
                client, args.library, args.targets, args.out_dir, suffix=args.suffix,
                threads=args.threads, max_uses=args.max_uses, min_distance=args.min_distance,
                progress=args.progress,
            ):
                print(output)
            return 0
    except (Error, OSError, ValueError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
