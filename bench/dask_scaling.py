"""Measures tessera.dask on this machine for docs/scaling.md (a benchmark, not a test):

1. mosaic_many throughput on workload 1 (gray 16x16, rot0-270, stride 12 over the 10 images of
   data/ other than astronaut.png: 123,808 patches) with LocalClusters of 1 and 2 worker
   processes, against a plain loop in this process; targets: the 512x512 astronaut in gray,
   rolled by a different offset each (so every target's tiles differ).
2. Sharded search: a library built in 1, 2 and 4 shards on a 2-process LocalCluster from the
   sources of a single library (default /work/perfdata/photo-gray: 1.14M gray patches), against
   that single library; the answers are checked to be identical.

    PYTHONPATH=build/python /usr/bin/python3 bench/dask_scaling.py --targets 200 --work /tmp/ds
"""

import argparse
import json
import os
import pathlib
import time

import numpy as np
from PIL import Image

import tessera
import tessera.dask as td
from distributed import Client, LocalCluster

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKLOAD_1 = ["brick.png", "chelsea.png", "coffee.png", "coins.png", "grass.png", "gravel.png",
              "horse.png", "hubble_deep_field.jpg", "retina.jpg", "rocket.jpg"]


def cluster(workers):
    package_root = os.path.dirname(os.path.dirname(tessera.__file__))
    os.environ["PYTHONPATH"] = package_root
    return Client(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None))


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def cpu_timed(client, fn):
    """Wall seconds, CPU seconds of this process and of the worker processes (the machine is
    shared with other jobs: CPU time says what the work cost, wall time what it took here)."""
    workers_before = sum(client.run(time.process_time).values()) if client else 0.0
    here_before = time.process_time()
    wall, result = timed(fn)
    here = time.process_time() - here_before
    workers = sum(client.run(time.process_time).values()) - workers_before if client else 0.0
    return {"wall s": round(wall, 2), "client cpu s": round(here, 2),
            "workers cpu s": round(workers, 2)}, result


def many(args, report):
    lib_path = args.work / "w1.tsr"
    if not lib_path.exists():
        tessera.Library.build([ROOT / "data" / n for n in WORKLOAD_1], tile=16, stride=12,
                              rotations=(0, 90, 180, 270), mode="gray").save(lib_path)
    lib = tessera.Library.open(lib_path)
    astronaut = np.asarray(Image.open(ROOT / "data" / "astronaut.png").convert("L"))
    targets = [np.roll(astronaut, (7 * i, 13 * i), axis=(0, 1)) for i in range(args.targets)]
    local, expected = cpu_timed(None, lambda: [lib.mosaic(t, threads=1) for t in targets])
    report["many"] = {"patches": len(lib), "targets": len(targets), "loop 1 thread": local}
    for workers in (1, 2):
        with cluster(workers) as client:
            td.mosaic_many(client, lib_path, targets[:2])  # workers started, library mapped
            measured, got = cpu_timed(client, lambda: td.mosaic_many(client, lib_path, targets))
        assert all(np.array_equal(a, b) for a, b in zip(got, expected))
        report["many"][f"{workers} workers"] = measured
    print(json.dumps(report["many"], indent=1), flush=True)


def queries(count):
    tiles = [tessera.tiles(np.asarray(Image.open(ROOT / "data" / n).convert("L")), 16)[0]
             for n in ("gravel.png", "grass.png", "astronaut.png", "coffee.png")]
    return np.concatenate(tiles)[:count]


def sharded(args, report):
    single = tessera.Library.open(args.library)
    q = queries(args.queries)
    single.search(q[:10], k=5, threads=1)  # search index built
    report["search"] = {"patches": len(single), "queries": len(q), "k": 5}
    for threads in (1, 2):
        measured, expected = cpu_timed(None, lambda: single.search(q, k=5, threads=threads))
        report["search"][f"single {threads} threads"] = measured
    rotations = sorted({int(t.removeprefix("flip").strip("-").removeprefix("rot") or 0)
                        for t in single.transforms})
    options = dict(tile=single.tile, stride=single.stride, rotations=rotations,
                   flips=any(t.startswith("flip") for t in single.transforms), mode=single.mode)
    with cluster(2) as client:
        for shards in (1, 2, 4):
            directory = args.work / f"shards-{shards}"
            if args.reuse and (directory / "manifest.json").exists():
                build_s, lib = timed(lambda: td.open_sharded(directory, client))
            else:
                build_s, lib = timed(lambda: td.build_sharded(
                    client, args.sources, directory, shards, **options))
            lib.search(q[:10], k=5)  # shards mapped and indexed on their workers
            measured, got = cpu_timed(client, lambda: lib.search(q, k=5))
            assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
            report["search"][f"{shards} shards"] = measured
            report["search"][f"{shards} shards build (or open) s"] = build_s
            report["search"][f"{shards} shards patches"] = [s.patches for s in lib.shards]
            print(json.dumps(report["search"], indent=1), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--targets", type=int, default=200, help="mosaic_many targets")
    parser.add_argument("--queries", type=int, default=4096, help="tiles per sharded search")
    parser.add_argument("--library", default="/work/perfdata/photo-gray/library.tsr")
    parser.add_argument("--sources", default="/work/perfdata/photo-gray/sources")
    parser.add_argument("--work", type=pathlib.Path, required=True, help="scratch directory")
    parser.add_argument("--skip", default="", help="many,search")
    parser.add_argument("--reuse", action="store_true", help="open the shards of an earlier run")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    report = {}
    if "many" not in args.skip:
        many(args, report)
    if "search" not in args.skip:
        sharded(args, report)
    (args.work / f"report-{int(time.time())}.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
