#!/usr/bin/python3
"""The repeat-capped assignment side by side: tessera.assign (optimal, certified, on each cell's
k nearest tiles, k doubled until the certificate holds), scipy's linear_sum_assignment on the
dense cost matrix with each tile's column repeated max_uses times (optimal, up to the size where
its matrix or time runs out), and a greedy fill (cells in row-major order, each takes its nearest
tile with uses left), on synthetic colour-like instances: cells clustered around 48 centres, tiles
uniform, 3 coordinates 0-255, squared distances in integers.

Prints a Markdown table (docs/performance.md). Not a test: run it by hand,
  PYTHONPATH=build/python /usr/bin/python3 bench/assign/compare.py [--sizes 500:300,...]
"""

import argparse
import time

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

import tessera


def instance(cells, tiles, seed):
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, (48, 3))
    cell = np.clip(centres[rng.integers(0, 48, cells)] + rng.normal(0, 24, (cells, 3)), 0, 255)
    return cell.astype(np.int64), rng.integers(0, 256, (tiles, 3)).astype(np.int64)


def nearest(cell, tile, k):
    """Each cell's k nearest tiles by exact squared distance, then id (the exact search's order)."""
    _, idx = cKDTree(tile).query(cell, k=min(len(tile), k + 8))
    idx = np.atleast_2d(idx)
    d = ((cell[:, None, :] - tile[idx]) ** 2).sum(axis=2)
    order = np.argsort(d * len(tile) + idx, axis=1)  # by distance, then id
    return np.take_along_axis(d, order, 1)[:, :k], np.take_along_axis(idx, order, 1)[:, :k]


def run_tessera(cell, tile, cap):
    k = 8
    while True:
        d, i = nearest(cell, tile, k)
        try:
            _, info = tessera.assign(d, i, cap, n_tiles=len(tile))
            if info["certified"] or k >= len(tile):
                return int(info["total_cost"]), info["certified"], k
        except tessera.Error:  # the lists cannot place every cell under the cap
            pass
        k = min(2 * k, len(tile))


def run_scipy(cell, tile, cap):
    cost = ((cell[:, None, :] - tile[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(np.repeat(cost, cap, axis=1))
    return int(cost[rows, cols // cap].sum())


def run_greedy(cell, tile, cap):
    tree = cKDTree(tile)
    uses = np.zeros(len(tile), np.int64)
    total = 0
    k = min(len(tile), 32)
    _, near = tree.query(cell, k=k)
    near = np.atleast_2d(near)
    for c in range(len(cell)):
        row = near[c]
        free = row[uses[row] < cap]
        if len(free) == 0:
            free = np.flatnonzero(uses < cap)
        d = ((tile[free] - cell[c]) ** 2).sum(axis=1)
        best = free[np.argmin(d)]
        uses[best] += 1
        total += int(((tile[best] - cell[c]) ** 2).sum())
    return total


def timed(f, *args):
    start = time.process_time()
    result = f(*args)
    return result, time.process_time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="500:300,2000:1200,5000:3000,10000:6000,40000:24000",
                        help="cells:tiles pairs")
    parser.add_argument("--max-uses", type=int, default=2)
    parser.add_argument("--scipy-max-entries", type=float, default=4e7,
                        help="largest dense matrix (cells x tiles x max_uses) given to scipy")
    args = parser.parse_args()
    print("| cells | tiles | cap | tessera cost | certified | k | tessera CPU s | scipy cost | "
          "scipy CPU s | greedy cost | greedy / optimum | greedy CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for pair in args.sizes.split(","):
        cells, tiles = (int(x) for x in pair.split(":"))
        cell, tile = instance(cells, tiles, 1)
        (cost, certified, k), t_time = timed(run_tessera, cell, tile, args.max_uses)
        if cells * tiles * args.max_uses <= args.scipy_max_entries:
            s_cost, s_time = timed(run_scipy, cell, tile, args.max_uses)
            assert s_cost == cost, (s_cost, cost)
            scipy = f"{s_cost} | {s_time:.1f}"
        else:
            scipy = "not run (dense matrix too large) | -"
        g_cost, g_time = timed(run_greedy, cell, tile, args.max_uses)
        assert g_cost >= cost
        print(f"| {cells} | {tiles} | {args.max_uses} | {cost} | {certified} | {k} | "
              f"{t_time:.1f} | {scipy} | {g_cost} | {g_cost / cost:.3f} | {g_time:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
