"""Per-target time of `tessera mosaic --out-dir` on a batch of targets against one process per
target (docs/performance.md, "Many targets").

    /usr/bin/python3 bench/many_targets.py LIB.tsr TARGET.png [--count 100] [--threads 1]

The targets are TARGET in gray, each rolled by a different offset, so that every one is searched
in full and none is a copy; both ways write PNG outputs. Prints wall and CPU seconds per target
(CPU: user + system of the tessera processes, steadier than wall on a shared machine)."""

import argparse
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def timed(commands):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    for command in commands:
        subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("library")
    parser.add_argument("target")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tessera", default=os.environ.get("TESSERA_BIN", "build/tessera"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        targets = work / "targets"
        targets.mkdir()
        image = np.asarray(Image.open(args.target).convert("L"))
        paths = []
        for i in range(args.count):
            path = targets / f"t{i:03d}.png"
            Image.fromarray(np.roll(image, (5 * i, 3 * i), axis=(0, 1))).save(path)
            paths.append(path)
        common = ["--threads", str(args.threads), "-q"]
        batch = timed([[args.tessera, "mosaic", args.library, targets, "--out-dir",
                        work / "batch", *common]])
        (work / "single").mkdir()
        single = timed([[args.tessera, "mosaic", args.library, p, "-o",
                         work / "single" / p.name, *common] for p in paths])
        for p in paths:
            same = (work / "batch" / p.name).read_bytes() == (work / "single" / p.name).read_bytes()
            assert same, p.name
        n = args.count
        print(f"{n} targets {image.shape[1]}x{image.shape[0]}, --threads {args.threads}")
        print(f"one process per target: {single[0] / n * 1000:.1f} ms wall, "
              f"{single[1] / n * 1000:.1f} ms CPU per target")
        print(f"one batch (--out-dir):  {batch[0] / n * 1000:.1f} ms wall, "
              f"{batch[1] / n * 1000:.1f} ms CPU per target")


if __name__ == "__main__":
    main()
