#!/usr/bin/python3
"""The repeat-capped assignment side by side: tessera's optimal, certified assignment, scipy's
linear_sum_assignment on the dense cost matrix with each tile's column repeated max_uses times
(optimal, up to the size where its matrix, memory or time runs out: it runs in a child process
stopped after --scipy-timeout seconds), and a greedy fill (cells in row-major order, each takes
its nearest tile with uses left, ties to the lowest id). tessera's total cost must equal scipy's
wherever scipy finishes and be at most the greedy fill's; the script stops with an assertion
otherwise. Squared distances in integers throughout.

Two modes, each printing one Markdown table (docs/performance.md):
- synthetic (default): colour-like 3-D points, cells clustered around 48 centres, tiles uniform,
  coordinates 0-255; tessera.assign on each cell's k nearest tiles, k doubled until certified.
- real image (--image TARGET --library LIB.tsr): the centre crops of TARGET named by --crops
  (sides divisible by the library's tile, so there are no edge tiles, and no resampling), matched
  by lib.mosaic(crop, max_uses=cap): tile (r, c) of a crop is crop[r*h:(r+1)*h, c*w:(c+1)*w],
  compared with lib.patches exactly (checked against lib.search before anything is timed). Its
  CPU and wall seconds are the whole call's (search, assignment, render and report).

Not a test: run it by hand,
  PYTHONPATH=build/python /usr/bin/python3 bench/assign/compare.py [--sizes 500:300,...]
  PYTHONPATH=build/python /usr/bin/python3 bench/assign/compare.py --image astronaut.png \\
      --library lib.tsr [--crops 160,240,480] [--max-uses 1,2] [--scipy-max-entries 1e8]
"""

import argparse
import multiprocessing
import time

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree
from skimage import io

import tessera

ROW_BLOCK = 256  # cells whose cost rows are computed at once


def instance(cells, tiles, seed):
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, (48, 3))
    cell = np.clip(centres[rng.integers(0, 48, cells)] + rng.normal(0, 24, (cells, 3)), 0, 255)
    return cell.astype(np.int64), rng.integers(0, 256, (tiles, 3)).astype(np.int64)


def point_costs(cell, tile):
    """cost_rows for 3-D points: rows start:stop of the squared distance matrix, int64."""
    return lambda start, stop: ((cell[start:stop, None, :] - tile[None, :, :]) ** 2).sum(axis=2)


def vector_costs(cell, tile):
    """cost_rows for long uint8 vectors (image tiles): |a|^2 + |b|^2 - 2ab with a float64 matmul,
    exact because every partial sum is an integer below 2^53."""
    cell = cell.astype(np.float64)
    tile = tile.astype(np.float64)
    cell_norm = (cell * cell).sum(axis=1)
    tile_norm = (tile * tile).sum(axis=1)

    def cost_rows(start, stop):
        rows = cell_norm[start:stop, None] + tile_norm[None, :] - 2 * (cell[start:stop] @ tile.T)
        return np.rint(rows).astype(np.int64)

    return cost_rows


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
            if k >= len(tile):
                raise
        k = min(2 * k, len(tile))


def run_scipy(cost_rows, cells, cap):
    cost = cost_rows(0, cells)
    rows, cols = linear_sum_assignment(np.repeat(cost, cap, axis=1))
    return int(cost[rows, cols // cap].sum())


def run_greedy(cost_rows, cells, tiles, cap):
    uses = np.zeros(tiles, np.int64)
    total = 0
    for start in range(0, cells, ROW_BLOCK):
        for row in cost_rows(start, min(cells, start + ROW_BLOCK)):
            # The first minimum among the tiles with uses left: ties to the lowest id.
            best = np.argmin(np.where(uses < cap, row, np.iinfo(np.int64).max))
            uses[best] += 1
            total += int(row[best])
    return total


def timed(f, *args):
    start = time.process_time()
    result = f(*args)
    return result, time.process_time() - start


def _scipy_child(cost_rows, cells, cap, pipe):
    pipe.send(timed(run_scipy, cost_rows, cells, cap))


def available_bytes():
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def scipy_within_limits(cost_rows, cells, tiles, cap, args):
    """(cost, CPU seconds) of run_scipy in a forked child, or (None, why it was not run or did
    not finish): over --scipy-max-entries, over the available memory, or over --scipy-timeout."""
    entries = cells * tiles * cap
    if entries > args.scipy_max_entries:
        return None, "not run (dense matrix too large)"
    needed = 3 * 8 * entries  # the repeated int64 matrix and scipy's float64 copy, with room
    if needed > available_bytes():
        return None, f"not run (needs {needed / 2**30:.1f} GiB)"
    context = multiprocessing.get_context("fork")  # the child inherits cost_rows and its arrays
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_scipy_child, args=(cost_rows, cells, cap, send))
    child.start()
    send.close()
    if receive.poll(args.scipy_timeout):
        try:
            return receive.recv()
        except EOFError:  # the child died (out of memory)
            return None, f"failed (exit code {child.exitcode})"
        finally:
            child.join()
    child.kill()
    child.join()
    return None, f"over {args.scipy_timeout:g} s"


def other_columns(cost_rows, cells, tiles, cap, optimum, args):
    """The scipy and greedy columns of one row, checked against tessera's optimum."""
    s_cost, s_time = scipy_within_limits(cost_rows, cells, tiles, cap, args)
    if s_cost is None:
        scipy = f"{s_time} | -"
    else:
        assert s_cost == optimum, (s_cost, optimum)
        scipy = f"{s_cost} | {s_time:.1f}"
    g_cost, g_time = timed(run_greedy, cost_rows, cells, tiles, cap)
    assert g_cost >= optimum, (g_cost, optimum)
    return f"{scipy} | {g_cost} | {g_cost / optimum:.3f} | {g_time:.1f}"


def synthetic(args):
    print("| cells | tiles | cap | tessera cost | certified | k | tessera CPU s | scipy cost | "
          "scipy CPU s | greedy cost | greedy / optimum | greedy CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for pair in args.sizes.split(","):
        cells, tiles = (int(x) for x in pair.split(":"))
        cell, tile = instance(cells, tiles, 1)
        for cap in args.max_uses:
            if cap * tiles < cells:
                print(f"| {cells} | {tiles} | {cap} | infeasible: cap x tiles < cells |")
                continue
            (cost, certified, k), t_time = timed(run_tessera, cell, tile, cap)
            others = other_columns(point_costs(cell, tile), cells, tiles, cap, cost, args)
            print(f"| {cells} | {tiles} | {cap} | {cost} | {certified} | {k} | {t_time:.1f} | "
                  f"{others} |", flush=True)


def centre_crop(image, side, tile, parser):
    height, width = (int(x) for x in side.split("x")) if "x" in side else (int(side),) * 2
    if height % tile[0] or width % tile[1] or height > image.shape[0] or width > image.shape[1]:
        parser.error(f"--crops {side}: must be multiples of the tile {tile[0]}x{tile[1]} "
                     f"within the target's {image.shape[0]}x{image.shape[1]}")
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return image[top:top + height, left:left + width]


def crop_tiles(crop, tile):
    """The crop's tiles in row-major order, (cells, tile height, tile width, 3) like lib.patches."""
    rows, cols = crop.shape[0] // tile[0], crop.shape[1] // tile[1]
    blocks = crop.reshape(rows, tile[0], cols, tile[1], -1).transpose(0, 2, 1, 3, 4)
    return blocks.reshape(rows * cols, *tile, -1)


def check_costs(lib, tiles, cell, patch, cost_rows):
    """The dense costs are tessera's: each cell's row minimum and its first position are
    lib.search's nearest distance and id, and a few entries match a direct integer sum."""
    distances, ids = lib.search(tiles, k=1)
    for start in range(0, len(cell), ROW_BLOCK):
        block = cost_rows(start, min(len(cell), start + ROW_BLOCK))
        assert (block.min(axis=1) == distances[start:start + len(block), 0]).all()
        assert (block.argmin(axis=1) == ids[start:start + len(block), 0]).all()
    rng = np.random.default_rng(0)
    for c, t in zip(rng.integers(0, len(cell), 16), rng.integers(0, len(patch), 16)):
        direct = int(((cell[c].astype(np.int64) - patch[t].astype(np.int64)) ** 2).sum())
        assert cost_rows(c, c + 1)[0, t] == direct, (c, t)


def real_image(args, parser):
    lib = tessera.Library.open(args.library)
    image = io.imread(args.image)
    if lib.mode != "rgb" or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        parser.error("--image and --library: give an 8-bit RGB target and an rgb library")
    patch = lib.patches.reshape(len(lib), -1)
    print("| crop | cells | patches | cap | tessera cost | certified | tessera CPU s / wall s | "
          "scipy cost | scipy CPU s | greedy cost | greedy / optimum | greedy CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for side in args.crops.split(","):
        crop = np.ascontiguousarray(centre_crop(image, side, lib.tile, parser))
        tiles = crop_tiles(crop, lib.tile)
        cell = tiles.reshape(len(tiles), -1)
        cost_rows = vector_costs(cell, patch)
        check_costs(lib, tiles, cell, patch, cost_rows)
        for cap in args.max_uses:
            wall, cpu = time.perf_counter(), time.process_time()
            result, report = lib.mosaic(crop, max_uses=cap, return_matches=True, report=True)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            cost = int(report["assignment"]["total_cost"])
            placed = result.matches  # row-major, like the cells
            assert (((cell.astype(np.int64) - patch[placed["patch"]]) ** 2).sum(axis=1)
                    == placed["distance"]).all()
            assert cost == int(placed["distance"].sum())
            assert np.bincount(placed["patch"]).max() <= cap
            others = other_columns(cost_rows, len(cell), len(patch), cap, cost, args)
            print(f"| {crop.shape[0]}x{crop.shape[1]} | {len(cell)} | {len(patch)} | {cap} | "
                  f"{cost} | {report['assignment']['certified']} | {cpu:.1f} / {wall:.1f} | "
                  f"{others} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="500:300,2000:1200,5000:3000,10000:6000,40000:24000",
                        help="synthetic cells:tiles pairs")
    parser.add_argument("--image", help="real-image mode: the target image (8-bit RGB)")
    parser.add_argument("--library", help="real-image mode: the .tsr library (rgb)")
    parser.add_argument("--crops", default="160,240,480",
                        help="real-image mode: centre crop sides, N or HxW, multiples of the tile")
    parser.add_argument("--max-uses", default="2",
                        type=lambda caps: [int(cap) for cap in caps.split(",")],
                        help="caps to compare, comma-separated (default 2)")
    parser.add_argument("--scipy-max-entries", type=float, default=4e7,
                        help="largest dense matrix (cells x tiles x max_uses) given to scipy")
    parser.add_argument("--scipy-timeout", type=float, default=300,
                        help="seconds scipy may run before it is stopped (default 300)")
    args = parser.parse_args()
    if (args.image is None) != (args.library is None):
        parser.error("--image and --library go together")
    if args.image is None:
        synthetic(args)
    else:
        real_image(args, parser)


if __name__ == "__main__":
    main()
