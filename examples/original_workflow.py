#!/usr/bin/env python3
"""The original workflow, written with tessera.

The workflow people run today: cut every training image and its 90/180/270-degree rotations into
16x16 patches, fit scikit-learn NearestNeighbors(n_neighbors=1) on the flattened patches, cut a test
image into 16x16 tiles, query each tile, paste the nearest patch in its place (about 84 s for a
512x512 target against ~130k patches, one kneighbors call per tile). With tessera it is two calls:

    lib = tessera.Library.build(train, tile=16, rotations=(0, 90, 180, 270), mode="gray")
    out = lib.mosaic(target)

Run from the repository root (after scripts/build.sh):

    PYTHONPATH=build/python /usr/bin/python3 examples/original_workflow.py [--flips] [--check]

Defaults: every bundled image in data/ but the target as training set, data/astronaut.png as the
target, out/original_workflow.png as the output. --check also runs scikit-learn's batched exact
search on the same patches and confirms every tile's nearest distance is the same.
"""

import argparse
import pathlib
import time

import numpy as np
from PIL import Image

import tessera

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", nargs="*", help="training images or directories [data/*]")
    parser.add_argument("--target", default=str(ROOT / "data" / "astronaut.png"))
    parser.add_argument("--out", default=str(ROOT / "out" / "original_workflow.png"))
    parser.add_argument("--flips", action="store_true", help="also store mirror images")
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--check", action="store_true", help="compare with scikit-learn")
    args = parser.parse_args()

    target_path = pathlib.Path(args.target).resolve()
    train = args.train or sorted(
        str(p) for p in (ROOT / "data").iterdir()
        if p.suffix in (".png", ".jpg") and p.resolve() != target_path
    )

    start = time.perf_counter()
    lib = tessera.Library.build(train, tile=16, rotations=(0, 90, 180, 270), flips=args.flips,
                                mode="gray")
    built = time.perf_counter() - start
    print(f"library: {len(lib)} patches of 16x16 from {len(lib.sources)} images "
          f"({', '.join(lib.transforms)}), built in {built:.2f} s")

    target = np.asarray(Image.open(target_path).convert("L"))  # or pass the path itself
    lib.mosaic(target[:16, :16], threads=args.threads)  # first call sets up the searcher
    start = time.perf_counter()
    result = lib.mosaic(target, threads=args.threads, return_matches=True)
    elapsed = time.perf_counter() - start
    rows, cols = result.grid
    print(f"mosaic: {target.shape[1]}x{target.shape[0]} target, {rows * cols} tiles, "
          f"{elapsed:.3f} s, PSNR {result.psnr:.2f} dB")

    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(result.image).save(out)
    print(f"wrote {out}")

    if args.check:
        from sklearn.neighbors import NearestNeighbors

        full_rows, full_cols = target.shape[0] // 16, target.shape[1] // 16  # whole tiles only
        tiles = np.ascontiguousarray(
            target[: full_rows * 16, : full_cols * 16]
            .reshape(full_rows, 16, full_cols, 16).swapaxes(1, 2).reshape(-1, 256)
        )
        start = time.perf_counter()
        nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(
            lib.patches.reshape(len(lib), -1).astype(np.float64))
        distances, _ = nn.kneighbors(tiles.astype(np.float64))
        sk_seconds = time.perf_counter() - start
        full = (result.matches["width"] == 16) & (result.matches["height"] == 16)
        same = np.array_equal(np.rint(distances[:, 0] ** 2).astype(np.int64),
                              result.matches["distance"][full])
        print(f"scikit-learn (one batched kneighbors): {sk_seconds:.2f} s; "
              f"same nearest distances: {same}")


if __name__ == "__main__":
    main()
