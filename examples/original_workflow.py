#!/usr/bin/env python3
"""The original scikit-learn workflow and tessera, side by side, compared pixel for pixel.

The original script: rotate every training image by 0/90/180/270 degrees (np.rot90), cut each
rotation on the 16x16 grid from its top-left corner, fit scikit-learn's
NearestNeighbors(n_neighbors=1) on the flattened patches, cut the target into 16x16 tiles, query
them, paste each tile's nearest patch in its place. It runs here three ways:

  1. as written, with sklearn.neighbors.NearestNeighbors;
  2. the same script with one import changed: from tessera import NearestNeighbors;
  3. tessera's two calls:
         lib = tessera.Library.build(train, tile=16, rotations=(0, 90, 180, 270), mode="gray",
                                     transform_sources=True)
         out = lib.mosaic(target)

and prints their times and whether the outputs are the same. transform_sources=True is what
makes 3 equal to 1 for images whose sides are not multiples of 16 (tessera's default cuts the
windows first and rotates each, a different patch set there). The original script pastes whole
tiles only, so the comparison is over the target's whole tiles; tessera also fills the cropped
edge tiles. Where two different patches are equally near, scikit-learn's choice is unspecified
and tessera's is the lowest index, so the check compares every tile's nearest distance, and
reports whether the pixels are identical too.

Run from the repository root (after scripts/build.sh):

    PYTHONPATH=build/python /usr/bin/python3 examples/original_workflow.py [train ...]
        [--target data/astronaut.png] [--out out/original_workflow.png]

Defaults: every bundled .png and .jpg in data/ but the target (most are not multiples of 16) as
training images. Exit status 1 if any output differs in a tile's nearest distance.
"""

import argparse
import pathlib
import sys
import time

import numpy as np
from PIL import Image
from sklearn.neighbors import NearestNeighbors as SklearnNearestNeighbors

import tessera

ROOT = pathlib.Path(__file__).resolve().parents[1]
TILE = 16


def original_script(train, target, NearestNeighbors):
    """The user's script, as written against scikit-learn: returns the rebuilt whole-tile part
    of `target` and each tile's nearest distance."""
    patches = []
    for image in train:
        for k in range(4):
            rotated = np.rot90(image, k)
            for r in range(rotated.shape[0] // TILE):
                for c in range(rotated.shape[1] // TILE):
                    patch = rotated[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE]
                    patches.append(patch.reshape(-1))
    X = np.array(patches)
    nn = NearestNeighbors(n_neighbors=1).fit(X)

    rows, cols = target.shape[0] // TILE, target.shape[1] // TILE
    queries = np.array([
        target[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE].reshape(-1)
        for r in range(rows) for c in range(cols)
    ])
    distances, indices = nn.kneighbors(queries)
    out = np.zeros((rows * TILE, cols * TILE), np.uint8)
    for i, index in enumerate(indices[:, 0]):
        r, c = divmod(i, cols)
        out[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE] = X[index].reshape(TILE, TILE)
    return out, distances[:, 0]


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", nargs="*", help="training images [data/*.png, data/*.jpg]")
    parser.add_argument("--target", default=str(ROOT / "data" / "astronaut.png"))
    parser.add_argument("--out", default=str(ROOT / "out" / "original_workflow.png"),
                        help="tessera's mosaic, an image file (.png, .jpg, .tif)")
    args = parser.parse_args()
    if pathlib.Path(args.out).suffix.lower() not in Image.registered_extensions():
        parser.error(f"--out {args.out}: name an image file ending in .png, .jpg or .tif")

    target_path = pathlib.Path(args.target).resolve()
    paths = args.train or sorted(
        str(p) for p in (ROOT / "data").iterdir()
        if p.suffix in (".png", ".jpg") and p.resolve() != target_path
    )
    # As the original script loads them. tessera takes the PIL images too (and names each
    # source by its file in provenance); a path would be decoded by libvips instead.
    train = [np.asarray(Image.open(p).convert("L")) for p in paths]
    target = np.asarray(Image.open(target_path).convert("L"))
    odd = sum(1 for a in train if a.shape[0] % TILE or a.shape[1] % TILE)
    print(f"{len(train)} training images ({odd} with a side not a multiple of {TILE}); "
          f"target {target.shape[1]}x{target.shape[0]}")

    (sk_out, sk_dist), sk_seconds = timed(original_script, train, target, SklearnNearestNeighbors)
    print(f"1. original script, scikit-learn:           {sk_seconds:7.2f} s")
    (nn_out, nn_dist), nn_seconds = timed(original_script, train, target, tessera.NearestNeighbors)
    print(f"2. original script, tessera.NearestNeighbors: {nn_seconds:5.2f} s")

    start = time.perf_counter()
    lib = tessera.Library.build([Image.open(p) for p in paths], tile=TILE,
                                rotations=(0, 90, 180, 270), mode="gray",
                                transform_sources=True)
    result = lib.mosaic(target, return_matches=True)
    lib_seconds = time.perf_counter() - start
    print(f"3. tessera Library.build + mosaic:           {lib_seconds:5.2f} s "
          f"({len(lib)} patches)")
    rows, cols = target.shape[0] // TILE, target.shape[1] // TILE
    whole = (result.matches["width"] == TILE) & (result.matches["height"] == TILE)
    lib_out = result.image[: rows * TILE, : cols * TILE]
    lib_dist = np.sqrt(result.matches["distance"][whole].astype(np.float64))

    same = True
    for name, out, dist in (("2", nn_out, nn_dist), ("3", lib_out, lib_dist)):
        same_dist = np.array_equal(dist, sk_dist)
        same = same and same_dist
        print(f"{name} vs 1: same nearest distance on all {len(sk_dist)} tiles: {same_dist}; "
              f"identical pixels: {np.array_equal(out, sk_out)}")

    out_path = pathlib.Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(result.image).save(out_path)
    print(f"wrote {out_path} (tessera's, edge tiles included)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
