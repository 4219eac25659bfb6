#!/usr/bin/python3
"""tessera side by side with scikit-learn, FAISS and hnswlib, on real photographs.

The headline workloads take their photographs from Debian's lomiri-wallpapers-16.04 (bench/photos.py
fetches it into a cache; --photos names another folder) and search a photograph at its own
resolution, cropped, never resampled. Workloads 1-3 use the small images in data/.

For each workload, one run: builds the library with `tessera build`, times `tessera mosaic` as a
whole process (best of --repeats), then runs the other methods on exactly the same patches. The
patches are cut here in numpy the way tessera cuts them (sources in order, transforms ascending,
windows row-major) and checked against `tessera info` and against the provenance and distances in
tessera's --matches file. For every method it counts the inexact tiles: tiles whose chosen patch is
farther (exact integer squared L2) than the true nearest patch.

Run it with Debian's interpreter: bench/run.sh [options], or /usr/bin/python3 bench/compare.py.
"""

import argparse
import csv
import dataclasses
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

import photos
import tessera_stages

# Tessera runs in the caller's environment (ENVIRONMENT, copied before this change). FAISS and
# scikit-learn run here with idle OpenMP threads sleeping instead of spinning: on a shared 2-vCPU
# machine the spinning threads take the CPU from OpenBLAS and made FAISS 3x slower.
ENVIRONMENT = dict(os.environ)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
TILE = 16
TRANSFORM_NAMES = ["rot0", "rot90", "rot180", "rot270",
                   "flip", "flip-rot90", "flip-rot180", "flip-rot270"]
METHODS = ("sklearn", "faiss", "hnswlib", "loop")  # what --skip can name
HNSW_M, HNSW_EF, HNSW_EF_CONSTRUCTION = 16, 256, 200


@dataclasses.dataclass
class Workload:
    key: str
    title: str
    mode: str               # "gray" or "rgb", as `tessera build --mode`
    transforms: tuple       # transform ids, ascending (4 = flips, as `--flips`)
    goal: int               # patches wanted; the stride is chosen to come closest ...
    target: str             # file name in the images folder; excluded from the library
    target_size: tuple = None  # (width, height) to resize the target to (center-cropped to its shape)
    sources: int = 0        # use only this many sources (smoke), ...
    source_side: int = 0    # ... each downscaled to at most this side (0: as they are)
    stride: int = 0         # ... unless this fixes the stride
    target_crop: tuple = None  # (width, height) cut from the target's center, never resampled
    photos: bool = False    # images from --photos (the fetched photographs), not --images


PHOTO_TARGET = "Dragonfly_by_Bolly.jpg"  # 4224x3168, the most textured of the 4K-or-larger ones
LIBRARY_SIDE = 1024  # the library photographs' long side: stride 8 then lands near 1M patches

FULL = {w.key: w for w in (
    Workload("photo-gray", "real photograph: gray 16x16, stride 8, 8 rotations/flips, native "
             "3840x2160 target", "gray", tuple(range(8)), 1_000_000, PHOTO_TARGET,
             source_side=LIBRARY_SIDE, stride=8, target_crop=(3840, 2160), photos=True),
    Workload("photo-rgb", "real photograph: RGB 16x16, ~250k patches, 4 rotations, native "
             "1920x1072 target (1080p cut to whole tiles)", "rgb", (0, 1, 2, 3), 250_000,
             PHOTO_TARGET, source_side=LIBRARY_SIDE, target_crop=(1920, 1072), photos=True),
    Workload("1", "gray 16x16, ~130k patches, 4 rotations, 512x512 target", "gray",
             (0, 1, 2, 3), 130_000, "astronaut.png"),
    Workload("2", "gray 16x16, ~1M patches, 8 rotations/flips, 512x512 target UPSCALED to "
             "3840x2160 (smooth tiles: flatters pruning)", "gray", tuple(range(8)), 1_000_000,
             "astronaut.png", (3840, 2160)),
    Workload("3", "RGB 16x16, ~70k patches, 4 rotations, 640x416 target", "rgb",
             (0, 1, 2, 3), 70_000, "rocket.jpg"),
)}
# Smoke mode downloads nothing: its photo workloads take data/ (or --photos) through the same path.
SMOKE = {w.key: w for w in (
    Workload("photo-gray", "smoke: gray, stride 8, 8 rotations/flips, cropped target", "gray",
             tuple(range(8)), 0, "astronaut.png", sources=4, source_side=128, stride=8,
             target_crop=(160, 96), photos=True),
    Workload("photo-rgb", "smoke: RGB, 4 rotations, cropped target", "rgb", (0, 1, 2, 3), 2_000,
             "rocket.jpg", sources=4, source_side=128, target_crop=(96, 64), photos=True),
    Workload("1", "smoke: gray, 4 rotations", "gray", (0, 1, 2, 3), 3_000, "astronaut.png",
             (96, 96), 4, 128),
    Workload("2", "smoke: gray, 8 rotations/flips, upscaled target", "gray", tuple(range(8)),
             6_000, "astronaut.png", (160, 96), 4, 128),
    Workload("3", "smoke: RGB, 4 rotations", "rgb", (0, 1, 2, 3), 2_000, "rocket.jpg",
             (96, 64), 4, 128),
)}


def log(message):
    print(message, flush=True)


# ---- images and patches ----

def load_photo(path):
    """Decodes once with PIL into 8-bit L or RGB; written as PNG so tessera reads the same pixels."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode.startswith("I;16"):
            return Image.fromarray((np.asarray(im, dtype=np.uint16) >> 8).astype(np.uint8), "L")
        if im.mode in ("L", "LA", "1"):
            return im.convert("L")
        return im.convert("RGB")


def as_mode(im, mode):
    """The image in the library's mode; PIL's convert('L') is the conversion tessera uses."""
    return np.asarray(im.convert("L" if mode == "gray" else "RGB"))


def window_count(size, stride):
    w, h = size
    if w < TILE or h < TILE:
        return 0
    return ((w - TILE) // stride + 1) * ((h - TILE) // stride + 1)


def choose_stride(sizes, transforms, goal):
    best = None
    for stride in range(1, 257):
        count = sum(window_count(s, stride) for s in sizes) * len(transforms)
        if best is None or abs(count - goal) < abs(best[1] - goal):
            best = (stride, count)
    return best


def cut_patches(image, stride, transforms):
    """Every TILE x TILE window at `stride`, under each transform: transforms in ascending order,
    then windows row-major. Transform t: mirror left-right if t >= 4, then t % 4 quarter turns
    counter-clockwise (numpy's fliplr and rot90), as in include/tessera/geometry.hpp."""
    if image.ndim == 2:
        image = image[:, :, None]
    views = np.lib.stride_tricks.sliding_window_view(image, (TILE, TILE), axis=(0, 1))
    views = views[::stride, ::stride].transpose(0, 1, 3, 4, 2)  # ny, nx, TILE, TILE, channels
    windows = views.reshape(-1, TILE, TILE, image.shape[2])
    ys, xs = np.meshgrid(np.arange(views.shape[0]) * stride, np.arange(views.shape[1]) * stride,
                         indexing="ij")
    patches, origins = [], []
    for t in transforms:
        w = windows[:, :, ::-1] if t >= 4 else windows
        patches.append(np.rot90(w, t % 4, axes=(1, 2)).reshape(len(windows), -1))
        origins.append(np.stack([xs.ravel(), ys.ravel(), np.full(xs.size, t)], axis=1))
    return np.concatenate(patches), np.concatenate(origins)


def cut_tiles(target):
    """Row-major TILE x TILE tiles of a target whose sides are multiples of TILE."""
    if target.ndim == 2:
        target = target[:, :, None]
    h, w, c = target.shape
    tiles = target.reshape(h // TILE, TILE, w // TILE, TILE, c).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(tiles.reshape(-1, TILE * TILE * c))


def true_distances(tiles, patches):
    """Exact squared L2 between row i of `tiles` and row i of `patches`, in int64."""
    d = tiles.astype(np.int64) - patches.astype(np.int64)
    return np.einsum("ij,ij->i", d, d)


# ---- running tessera ----

def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True, env=ENVIRONMENT)
    if result.returncode != 0:
        sys.exit(f"bench: {shlex.join(map(str, cmd))} failed ({result.returncode}):\n"
                 f"{result.stderr.strip()}")
    return result


def tessera_info(binary, library):
    out = run([binary, "info", library]).stdout
    return dict(line.split(None, 1) for line in out.splitlines() if line.strip())


def read_matches(path, source_index):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    column = lambda name, conv=int: np.array([conv(r[name]) for r in rows], dtype=np.int64)
    return {
        "patch": column("patch"),
        "distance": column("distance"),
        "source": column("source", lambda s: source_index[s]),
        "x": column("source_x"),
        "y": column("source_y"),
        "transform": column("transform", TRANSFORM_NAMES.index),
        "row": column("row"),
        "col": column("col"),
    }


# ---- the other methods ----

@dataclasses.dataclass
class Result:
    method: str
    seconds: float
    tiles: np.ndarray = None      # tile indices the method answered
    ids: np.ndarray = None        # its chosen patch per answered tile
    extrapolated: bool = False
    runs: int = 1
    note: str = ""
    inexact: int = 0
    build: bool = False           # an index or library build, not a search
    exact: bool = False           # a brute-force method whose picks are nearest by construction


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run_batched(name, search, n_tiles, args, rng, note=""):
    """Times search(tile_indices) -> patch ids. Runs on random samples of tiles growing 4x at a
    time (small batches also warm up, and batched searches are slower per tile on small batches);
    when the next step would not fit in --budget, the last sample is scaled to all tiles and
    labelled extrapolated. Over all tiles: best of --repeats runs within the budget."""
    order = rng.permutation(n_tiles)
    count, spent = min(n_tiles, args.probe), 0.0
    while count < n_tiles:
        sample = np.sort(order[:count])
        seconds, ids = timed(lambda: search(sample))
        spent += seconds
        if seconds * n_tiles / count <= args.budget - spent:
            break
        grown = min(n_tiles, 4 * count)
        if seconds * grown / count > args.budget - spent:
            return Result(name, seconds * n_tiles / count, sample, ids, extrapolated=True,
                          note=(note + "; " if note else "") +
                          f"extrapolated from {count} of {n_tiles} tiles")
        count = grown
    everything = np.arange(n_tiles)
    best, ids, runs = float("inf"), None, 0
    while runs < args.repeats and (runs == 0 or best <= args.budget - spent):
        seconds, ids = timed(lambda: search(everything))
        best, spent, runs = min(best, seconds), spent + seconds, runs + 1
    return Result(name, best, everything, ids, runs=runs, note=note)


def bench_sklearn(patches, tiles, args, rng):
    from sklearn.neighbors import NearestNeighbors
    # float64 takes scikit-learn's chunked, multithreaded ArgKmin path; squared distances of
    # integer data stay exact in float64.
    fit_seconds, nn = timed(lambda: NearestNeighbors(n_neighbors=1, algorithm="brute")
                            .fit(patches.astype(np.float64)))
    queries = tiles.astype(np.float64)
    search = lambda idx: nn.kneighbors(queries[idx], return_distance=False)[:, 0]
    result = run_batched("scikit-learn batched kneighbors", search, len(tiles), args, rng,
                         f"brute force, float64; fit {fit_seconds:.2f} s not counted")
    result.exact = True
    return result


def bench_faiss(patches, tiles, args, rng):
    import faiss
    index = faiss.IndexFlatL2(patches.shape[1])
    add_seconds, _ = timed(lambda: index.add(patches.astype(np.float32)))
    queries = tiles.astype(np.float32)
    search = lambda idx: index.search(queries[idx], 1)[1][:, 0]
    result = run_batched("FAISS IndexFlatL2 search", search, len(tiles), args, rng,
                         f"float32; add {add_seconds:.2f} s not counted")
    index.reset()
    return result


def bench_hnswlib(patches, tiles, args, rng):
    import hnswlib
    index = hnswlib.Index(space="l2", dim=patches.shape[1])
    index.init_index(max_elements=len(patches), M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION,
                     random_seed=100)
    data = patches.astype(np.float32)
    build_name = f"hnswlib build (M={HNSW_M}, ef_construction={HNSW_EF_CONSTRUCTION})"
    start = time.perf_counter()
    for begin in range(0, len(data), 100_000):  # in steps, to give up when over the budget
        end = min(len(data), begin + 100_000)
        index.add_items(data[begin:end], np.arange(begin, end))
        build_seconds = time.perf_counter() - start
        if end < len(data) and build_seconds > args.budget:
            return [Result(build_name, build_seconds, build=True,
                           note=f"gave up after {end:,} of {len(data):,} patches (over --budget); "
                                "no search timed")]
    index.set_ef(HNSW_EF)
    queries = tiles.astype(np.float32)
    search = lambda idx: index.knn_query(queries[idx], k=1)[0][:, 0].astype(np.int64)
    result = run_batched(f"hnswlib search (M={HNSW_M}, ef={HNSW_EF})", search, len(tiles), args,
                         rng, "approximate, float32")
    build = Result(build_name, build_seconds, note="index build, not part of the search time", build=True)
    return [result, build]


def bench_loop(patches, tiles, args, rng):
    """The original: NearestNeighbors fitted on the uint8 patches, one kneighbors call per tile."""
    from sklearn.neighbors import NearestNeighbors
    nn = NearestNeighbors(n_neighbors=1).fit(patches)
    first, _ = timed(lambda: nn.kneighbors(tiles[:1]))
    count = int(min(len(tiles), args.loop_tiles, max(1, args.budget / max(first, 1e-9))))
    sample = np.sort(rng.choice(len(tiles), count, replace=False))
    ids = np.empty(count, dtype=np.int64)
    start = time.perf_counter()
    for i, t in enumerate(sample):
        ids[i] = nn.kneighbors(tiles[t].reshape(1, -1), return_distance=False)[0, 0]
    seconds = (time.perf_counter() - start) * len(tiles) / count
    return Result("per-tile sklearn loop (original)", seconds, sample, ids, extrapolated=True, exact=True,
                  note=f"one kneighbors call per tile, uint8 input; extrapolated from {count} of "
                       f"{len(tiles)} tiles")


def exhaustive_check(patches, tiles, sample, tess_ids, tess_dist, chunk=16_384):
    """Exhaustive scan for the sampled tiles: every patch's distance |t|^2 + |p|^2 - 2 t.p, in
    float64 matrix products (BLAS), which are exact here: every product and partial sum is an
    integer below D x 255^2 < 2^31, far inside float64's 2^53. Returns tiles where tessera's
    distance is not the minimum or its id not the lowest among ties, and how many sampled tiles
    had ties."""
    queries = tiles[sample].astype(np.float64)
    query_norms = np.einsum("ij,ij->i", queries, queries)
    best = np.full(len(sample), np.inf)
    best_ids = np.zeros(len(sample), dtype=np.int64)
    at_best = np.zeros(len(sample), dtype=np.int64)
    for begin in range(0, len(patches), chunk):  # in order, so the first minimum is the lowest id
        block = patches[begin:begin + chunk].astype(np.float64)
        d = block @ queries.T  # in place from here: |p|^2 - 2 t.p, then + |t|^2 per column
        d *= -2
        d += np.einsum("ij,ij->i", block, block)[:, None]
        d += query_norms[None, :]
        low = d.min(axis=0)
        count = (d == low).sum(axis=0)
        nearer, equal = low < best, low == best
        best_ids[nearer] = begin + d.argmin(axis=0)[nearer]
        at_best = np.where(nearer, count, at_best + np.where(equal, count, 0))
        best = np.minimum(best, low)
    wrong = (best.astype(np.int64) != tess_dist[sample]) | (best_ids != tess_ids[sample])
    return [int(t) for t in sample[wrong]], int(np.sum(at_best > 1))


# ---- one workload ----

def prepare(w, args, work):
    image_folder = args.photos if w.photos else args.images
    images = photos.photographs(image_folder)
    targets = dict(s.split("=", 1) for s in args.targets) if args.targets else {}
    target_name = targets.get(w.key, w.target)
    target_path = next((p for p in images if p.name == target_name), None)
    if target_path is None:
        if not images:
            sys.exit(f"bench: no images in {image_folder}")
        target_path = images[0]
        log(f"  {target_name} is not in {image_folder}; using {target_path.name} as the target")
    sources = [p for p in images if p != target_path]
    if w.sources:  # smoke: spread the few sources over the folder (the bundled one has a silhouette)
        sources = sources[::max(1, len(sources) // w.sources)][:w.sources]
    if not sources:
        sys.exit(f"bench: no source images left in {image_folder} besides the target")

    folder = work / f"workload{w.key}"
    (folder / "sources").mkdir(parents=True, exist_ok=True)
    source_files, arrays = [], []
    for i, p in enumerate(sources):
        im = load_photo(p)
        if w.source_side and max(im.size) > w.source_side:
            im.thumbnail((w.source_side, w.source_side), Image.LANCZOS)
        out = folder / "sources" / f"{i:03d}_{p.stem}.png"
        im.save(out)
        source_files.append(str(out))
        arrays.append(as_mode(im, w.mode))

    target = load_photo(target_path)
    note = f"{target_path.name} {target.size[0]}x{target.size[1]}"
    if w.target_crop:
        (width, height), (cw, ch) = target.size, w.target_crop
        if width < cw or height < ch:
            sys.exit(f"bench: target {target_path.name} is {width}x{height}, smaller than workload "
                     f"{w.key}'s {cw}x{ch}; it is cropped, never enlarged: pick another with --targets")
        left, top = (width - cw) // 2, (height - ch) // 2
        target = target.crop((left, top, left + cw, top + ch))
        note += f", center-cropped to {cw}x{ch} at its own resolution (not resampled)"
    if w.target_size:
        target = ImageOps.fit(target, w.target_size, Image.LANCZOS)
        note += f", center-cropped to the shape and resized (LANCZOS) to {w.target_size[0]}x{w.target_size[1]}"
    cw, ch = target.size[0] // TILE * TILE, target.size[1] // TILE * TILE
    if (cw, ch) != target.size:
        target = target.crop((0, 0, cw, ch))
        note += f", cropped to {cw}x{ch} (whole tiles only)"
    target_file = folder / "target.png"
    target.save(target_file)
    return sources, source_files, arrays, str(target_file), as_mode(target, w.mode), note, target_path


def run_workload(w, args, work, rng):
    log(f"\n== workload {w.key}: {w.title}")
    sources, source_files, arrays, target_file, target, target_note, target_path = prepare(w, args, work)
    sizes = [(a.shape[1], a.shape[0]) for a in arrays]
    if w.stride:
        stride = w.stride
        expected = sum(window_count(s, stride) for s in sizes) * len(w.transforms)
    else:
        stride, expected = choose_stride(sizes, w.transforms, w.goal)
    log(f"  library: {len(sources)} photographs, transforms {[TRANSFORM_NAMES[t] for t in w.transforms]}, "
        f"stride {stride} -> {expected:,} patches" + ("" if w.stride else f" (goal ~{w.goal:,})"))
    log(f"  target: {target_note}")

    folder = Path(target_file).parent
    library = str(folder / "library.tsr")
    rotations = ",".join(str(90 * t) for t in w.transforms if t < 4)
    build_cmd = [args.tessera, "build", *source_files, "-o", library, "--mode", w.mode,
                 "--tile", str(TILE), "--stride", str(stride), "--rotations", rotations, "-q"]
    if any(t >= 4 for t in w.transforms):
        build_cmd.append("--flips")
    build_seconds, _ = timed(lambda: run(build_cmd))
    info = tessera_info(args.tessera, library)
    patch_count = int(info["patches"])
    log(f"  tessera build: {build_seconds:.2f} s, {patch_count:,} patches, {info['bytes']}")
    if patch_count != expected:
        sys.exit(f"bench: tessera built {patch_count} patches, the numpy cut expects {expected}")

    # tessera mosaic as a whole process: load, search, render, write the image and the matches.
    matches_file = folder / "matches.csv"
    mosaic_cmd = [args.tessera, "mosaic", library, target_file, "-o", str(folder / "mosaic.png"),
                  "--matches", str(matches_file), "-q"]
    if args.threads:
        mosaic_cmd += ["--threads", str(args.threads)]
    timings_file = folder / "timings.json"
    if args.has_timings:
        mosaic_cmd += ["--timings", str(timings_file)]
    times, outputs, inside = [], set(), []
    while len(times) < args.repeats and (not times or sum(times) + min(times) <= args.budget):
        seconds, _ = timed(lambda: run(mosaic_cmd))
        times.append(seconds)
        outputs.add(matches_file.read_bytes())
        if args.has_timings:
            inside.append(json.loads(timings_file.read_text()))
    log(f"  tessera mosaic: best {min(times):.3f} s of {len(times)} ({', '.join(f'{t:.3f}' for t in times)})")
    if len(outputs) != 1:
        sys.exit("bench: tessera mosaic wrote different matches on repeated runs")
    if inside:
        stages = tessera_stages.stages_inside(inside[times.index(min(times))], min(times))
    else:
        stages = tessera_stages.stages_outside(args, run, ENVIRONMENT, library, target_file, w.mode,
                                               TILE, source_files[0], min(times))
    search_seconds = next(s["seconds"] for s in stages if s["stage"].startswith("search"))
    tile_count = (target.shape[0] // TILE) * (target.shape[1] // TILE)
    dimension = TILE * TILE * (1 if w.mode == "gray" else 3)
    rate = tessera_stages.search_rate(tile_count, patch_count, dimension, search_seconds, args)
    log("  tessera stages: " + ", ".join(f"{s['stage']} {s['seconds']:.3f} s" for s in stages))
    if rate["gmacs"] is not None:
        log(f"  search: {rate['gmacs_per_core']:.0f} effective GMAC/s per core"
            + (f", {rate['share']:.0%} of the {rate['level']} peak" if rate["share"] is not None else ""))

    # The same patches and tiles in numpy, checked against tessera's provenance and distances.
    parts = [cut_patches(a, stride, w.transforms) for a in arrays]
    patches = np.concatenate([p for p, _ in parts])
    origins = np.concatenate([np.column_stack([np.full(len(o), i), o]) for i, (_, o) in enumerate(parts)])
    tiles = cut_tiles(target)
    m = read_matches(matches_file, {s: i for i, s in enumerate(source_files)})
    if len(patches) != patch_count or len(m["patch"]) != len(tiles):
        sys.exit(f"bench: numpy has {len(patches)} patches and {len(tiles)} tiles; tessera reports "
                 f"{patch_count} patches and {len(m['patch'])} matches")
    tess_ids, tess_dist = m["patch"], m["distance"]
    cols = target.shape[1] // TILE
    named = np.column_stack([m["source"], m["x"], m["y"], m["transform"]])
    if not (np.array_equal(m["row"] * cols + m["col"], np.arange(len(tiles)))
            and np.array_equal(origins[tess_ids], named)):
        sys.exit("bench: tessera's matches name patches whose provenance differs from the numpy cut")
    own = true_distances(tiles, patches[tess_ids])
    if not np.array_equal(own, tess_dist):
        bad = int(np.flatnonzero(own != tess_dist)[0])
        sys.exit(f"bench: tile {bad}: tessera reports distance {tess_dist[bad]} but its patch "
                 f"{tess_ids[bad]} is {own[bad]} away in numpy (different pixels?)")
    log(f"  numpy cut matches tessera: {len(patches):,} patches, {len(tiles):,} tiles, provenance and distances equal")

    # Tessera against an exhaustive integer scan on a sample of tiles (ties: lowest id).
    check_count = min(len(tiles), args.check_tiles)
    sample = np.sort(rng.choice(len(tiles), check_count, replace=False))
    check_seconds, (wrong, ties) = timed(lambda: exhaustive_check(patches, tiles, sample, tess_ids, tess_dist))
    log(f"  exhaustive integer check of {check_count} tiles: {len(wrong)} wrong, {ties} with ties "
        f"({check_seconds:.1f} s)")

    results = [Result("tessera mosaic (whole process)", min(times), runs=len(times),
                      note="load, search, render, write PNG and matches CSV")]
    builds = [Result("tessera build", build_seconds, note="library file, not part of the mosaic time",
                     build=True)]
    runners = {"sklearn": bench_sklearn, "faiss": bench_faiss, "hnswlib": bench_hnswlib, "loop": bench_loop}
    for key in METHODS:
        if key in args.skip:
            continue
        out = runners[key](patches, tiles, args, rng)
        for r in out if isinstance(out, list) else [out]:
            (builds if r.build else results).append(r)
            log(f"  {r.method}: {r.seconds:.3f} s" + (" (extrapolated)" if r.extrapolated else ""))

    # Inexact tiles: the method's pick is farther than tessera's distance. A pick nearer than
    # tessera's is a tessera error, counted against tessera. Tessera is verified on the tiles that
    # an exact method (or the exhaustive scan) answered, and on any tile where it was beaten.
    tessera_wrong, verified = set(wrong), set(sample.tolist())
    for r in results[1:]:
        d = true_distances(tiles[r.tiles], patches[r.ids])
        r.inexact = int(np.sum(d > tess_dist[r.tiles]))
        tessera_wrong.update(int(t) for t in r.tiles[d < tess_dist[r.tiles]])
        if r.exact:
            verified.update(r.tiles.tolist())
    results[0].inexact = len(tessera_wrong)
    results[0].tiles = np.array(sorted(verified | tessera_wrong))
    results += builds
    return {
        "key": w.key,
        "title": w.title,
        "mode": w.mode,
        "sources": [p.name for p in sources],
        "source_side": w.source_side,
        "credits": image_credits(args, w, sources + [target_path]),
        "transforms": [TRANSFORM_NAMES[t] for t in w.transforms],
        "stride": stride,
        "patches": patch_count,
        "library_bytes": info["bytes"],
        "target": target_note,
        "tiles": len(tiles),
        "checked_tiles": check_count,
        "tied_checked_tiles": ties,
        "stages": stages,
        "search_rate": rate,
        "results": [{
            "method": r.method,
            "seconds": r.seconds,
            "runs": r.runs,
            "extrapolated": r.extrapolated,
            "build": r.build,
            "evaluated_tiles": None if r.tiles is None else len(r.tiles),
            "inexact_tiles": None if r.tiles is None else r.inexact,
            "note": r.note,
        } for r in results],
    }


def image_credits(args, w, used):
    """{file name: [copyright, licence]} for the fetched photographs; a pointer to the folder's own
    licence list otherwise."""
    folder = args.photos if w.photos else args.images
    known = photos.credits_for(folder, [p.name for p in used])
    if known is not None:
        return {name: list(value) for name, value in known.items()}
    licences = Path(folder) / "LICENSES.md"
    return str(licences) if licences.is_file() else f"see the licences of {folder}"


# ---- report ----

def machine():
    cpu, flags = platform.processor() or "unknown", ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                have = set(line.split(":", 1)[1].split())
                flags = " ".join(f for f in ("avx2", "avx512f", "avx512bw", "avx512_vnni", "amx_int8") if f in have)
    except OSError:
        pass
    memory = ""
    try:
        kb = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
        memory = f"{kb / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "simd": flags, "memory": memory,
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg()), "system": platform.platform()}


def versions(binary):
    import importlib.metadata
    import faiss, matplotlib, sklearn
    tessera = run([binary, "--version"]).stdout.strip()
    return {"tessera": tessera, "python": platform.python_version(), "numpy": np.__version__,
            "scikit-learn": sklearn.__version__, "faiss": faiss.__version__,
            "hnswlib": importlib.metadata.version("hnswlib"), "matplotlib": matplotlib.__version__}


def speedup(seconds, tessera):
    if tessera <= 0:
        return "-"
    ratio = seconds / tessera
    return f"{ratio:.0f}x" if ratio >= 100 else f"{ratio:.1f}x" if ratio >= 1 else f"{ratio:.2g}x"


def table_rows(wl):
    tessera = wl["results"][0]["seconds"]
    rows = []
    for r in wl["results"]:
        ratio = "-" if r is wl["results"][0] or r["build"] else speedup(r["seconds"], tessera)
        if r["inexact_tiles"] is None:
            inexact = "-"
        elif r["evaluated_tiles"] == wl["tiles"]:
            inexact = str(r["inexact_tiles"])
        else:
            inexact = f"{r['inexact_tiles']} of {r['evaluated_tiles']} sampled"
        seconds = f"{r['seconds']:.3f}" + (" (extrapolated)" if r["extrapolated"] else "")
        rows.append((r["method"], seconds, ratio, inexact, r["note"]))
    return rows


def render_text(report):
    lines = []
    for wl in report["workloads"]:
        lines.append(f"\nworkload {wl['key']}: {wl['title']}")
        lines.append(f"  {wl['patches']:,} patches (stride {wl['stride']}), {wl['tiles']:,} tiles")
        rows = [("method", "seconds", "tessera speed-up", "inexact tiles")] + [r[:4] for r in table_rows(wl)]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                                           for i, c in enumerate(r)))
        lines.append("  tessera stages: " + ", ".join(f"{s['stage']} {s['seconds']:.3f} s"
                                                      for s in wl["stages"]))
        lines.append(f"  search: {tessera_stages.rate_text(wl['search_rate'])}")
    return "\n".join(lines)


def credit_lines(report):
    """One line per photograph used, with its author and licence; pointers for other folders."""
    seen, pointers, lines = {}, set(), []
    for wl in report["workloads"]:
        if isinstance(wl["credits"], dict):
            seen.update(wl["credits"])
        else:
            pointers.add(wl["credits"])
    for name in sorted(seen, key=str.lower):
        holder, licence = seen[name]
        url = photos.LICENCE_URLS.get(licence)
        lines.append(f"- {name}: (c) {holder}, " + (f"[{licence}]({url})" if url else licence))
    if seen:
        lines.insert(0, f"Photographs from Debian's `{photos.PACKAGE}`, authors and licences as its "
                        "copyright file gives them; used cropped (targets) or downscaled (libraries), "
                        "not redistributed:")
    for pointer in sorted(pointers):
        shown = Path(pointer)
        if shown.is_absolute() and ROOT in shown.parents:
            shown = shown.relative_to(ROOT)
        lines.append(f"- Other images: {shown}")
    return lines


def render_markdown(report, chart_name):
    m, v = report["machine"], report["versions"]
    out = ["# tessera benchmark", "",
           f"Measured {report['date']} with `{report['command']}`.", "",
           f"- Machine: {m['cpu']}, {m['cores']} logical cores, {m['memory']} RAM, SIMD {m['simd'] or 'none'} "
           f"({m['system']}); load average at start {m['load']}",
           f"- `{v['tessera']}`; Python {v['python']}, numpy {v['numpy']}, scikit-learn {v['scikit-learn']}, "
           f"FAISS {v['faiss']}, hnswlib {v['hnswlib']}",
           f"- SIMD level in use: {report['simd_level']} (`tessera --version`). Int8 peak per core assumed: "
           + ", ".join(f"{level} {n} MAC/cycle" for level, n in tessera_stages.MACS_PER_CYCLE.items())
           + f" (AMX tdpbusd; AVX-512 VNNI vpdpbusd x2; AVX2 vpmaddubsw x2) at {report['ghz']} GHz.",
           "- tessera is timed as a whole process (`tessera mosaic --matches`: load the library and the target, "
           f"search, render, write the PNG and the CSV), best of {report['repeats']} runs. The other methods are "
           "timed on their search call alone, with the data already in memory; their index build or fit "
           "is in the notes.",
           f"- tessera's stages are measured {report['stages_from']}"
           + ("" if report["stages_from"].startswith("tessera") else
              ": open = `tessera info` less process start (`tessera --version`), verify = "
              "`tessera info --verify` less `tessera info`, libvips start and decode = tessera's "
              "load_image timed in Python (first call less a warm one; the warm one), render + "
              "encode + matches = a mosaic of the same target from a one-patch library less the "
              "three before, search = the rest of the whole mosaic (an estimate; noisy when small)")
           + ". Effective GMAC/s = tiles x patches x D (a brute-force pass) / search seconds: above "
           "100% of the peak means the pruning beats any brute force.",
           "- Inexact tiles: tiles where the method's pick is farther (exact integer squared L2) than the "
           "nearest patch. For tessera: tiles where any method found a nearer patch, or where an exhaustive "
           "integer scan of a sample of tiles found a smaller distance or a lower id among equal distances; "
           "counted over the tiles that scan or an exact method (scikit-learn, the loop) answered.",
           "- \"extrapolated\": timed on a sample of tiles and scaled to all tiles; its inexact tiles are "
           "counted on that sample.",
           f"- FAISS and scikit-learn ran with OMP_WAIT_POLICY={report['omp_wait_policy']['others']} (idle "
           "OpenMP threads sleep: spinning ones took the CPU from OpenBLAS on this shared machine); "
           f"tessera with the caller's setting ({report['omp_wait_policy']['tessera']}).",
           "", f"![seconds per workload]({chart_name})", ""]
    for wl in report["workloads"]:
        scaled = (f", each downscaled (LANCZOS) to at most {wl['source_side']} px on its long side"
                  if wl["source_side"] else "")
        out += [f"## Workload {wl['key']}: {wl['title']}", "",
                f"- Library: {len(wl['sources'])} photographs ({', '.join(wl['sources'])}){scaled}, "
                f"{wl['mode']}, transforms {' '.join(wl['transforms'])}, stride {wl['stride']}: "
                f"{wl['patches']:,} patches, {wl['library_bytes']}",
                f"- Target: {wl['target']}; {wl['tiles']:,} tiles of 16x16",
                f"- Exhaustive integer check: {wl['checked_tiles']} sampled tiles, "
                f"{wl['tied_checked_tiles']} of them with tied nearest patches", "",
                "| method | seconds | tessera speed-up | inexact tiles | notes |",
                "| --- | ---: | ---: | ---: | --- |"]
        out += [f"| {' | '.join(r)} |" for r in table_rows(wl)]
        out += ["", "| tessera stage | seconds | how |", "| --- | ---: | --- |"]
        out += [f"| {s['stage']} | {s['seconds']:.3f} | {s['how']} |" for s in wl["stages"]]
        out += ["", f"- Search: {tessera_stages.rate_text(wl['search_rate'])}", ""]
    out += ["## Images", ""] + credit_lines(report) + [""]
    return "\n".join(out)


def draw_chart(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    workloads = report["workloads"]
    fig, axes = plt.subplots(1, len(workloads), figsize=(5.5 * len(workloads), 4.8), squeeze=False)
    for ax, wl in zip(axes[0], workloads):
        rows = [r for r in wl["results"] if not r["build"]]
        names = [r["method"].replace(" (", "\n(") for r in rows]
        colors = ["tab:red" if r["method"].startswith("tessera") else "tab:blue" for r in rows]
        bars = ax.bar(range(len(rows)), [r["seconds"] for r in rows], color=colors,
                      hatch=None, edgecolor="black")
        for bar, r in zip(bars, rows):
            if r["extrapolated"]:
                bar.set_hatch("//")
                bar.set_alpha(0.6)
            ax.annotate(f"{r['seconds']:.3g} s", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(names, rotation=35, ha="right", fontsize=7)
        ax.set_ylabel("seconds (log scale)")
        ax.set_title(f"{wl['key']}: {wl['patches']:,} patches, {wl['tiles']:,} tiles", fontsize=9)
    fig.suptitle(f"tessera vs others ({report['machine']['cpu']}, {report['machine']['cores']} cores); "
                 "hatched = extrapolated from a sample", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--tessera", default=os.environ.get("TESSERA_BIN", str(ROOT / "build" / "tessera")),
                        help="the tessera binary")
    parser.add_argument("--images", default=str(ROOT / "data"),
                        help="folder of images for workloads 1-3; each workload's target is left "
                             "out of its library")
    parser.add_argument("--photos", default=None,
                        help="folder of photographs for the photo-* workloads (default: Debian's "
                             f"{photos.PACKAGE}, fetched into --cache; --images in smoke mode)")
    parser.add_argument("--cache", default=str(photos.default_cache()),
                        help=f"where {photos.PACKAGE} is downloaded and unpacked, once")
    parser.add_argument("--targets", type=lambda s: s.split(","), default=None,
                        help="targets per workload as photo-gray=NAME,1=NAME,... (default "
                             f"{PHOTO_TARGET} center-cropped for the photo-* workloads, astronaut.png, "
                             "astronaut.png resized to 3840x2160, rocket.jpg)")
    parser.add_argument("--workloads", type=lambda s: s.split(","), default=list(FULL),
                        help="comma-separated, run in this order")
    parser.add_argument("--ghz", type=float, default=3.8,
                        help="core clock for the int8 peak (MACs per cycle per SIMD level x this); "
                             "3.8 is the Sapphire Rapids clock of the measured peaks")
    parser.add_argument("--skip", type=lambda s: set(s.split(",")), default=set(),
                        help=f"methods to leave out, any of {','.join(METHODS)}")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each timed command; the best counts")
    parser.add_argument("--budget", type=float, default=300.0,
                        help="seconds per method and workload: a slower search is timed on a sample "
                             "of tiles and extrapolated, a slower hnswlib build is given up, "
                             "repeats stop")
    parser.add_argument("--probe", type=int, default=1024,
                        help="tiles in the first timed sample (batched searches are slower per tile "
                             "on small batches, so smaller samples overstate their time)")
    parser.add_argument("--loop-tiles", type=int, default=32,
                        help="tiles sampled for the per-tile loop (also capped by --budget)")
    parser.add_argument("--check-tiles", type=int, default=1024,
                        help="tiles checked against an exhaustive integer scan")
    parser.add_argument("--threads", type=int, default=0, help="tessera mosaic --threads (0 = all cores)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "results.md"),
                        help="Markdown report; the chart (.png) and data (.json) go beside it")
    parser.add_argument("--work", default=None, help="keep the libraries and targets in this folder "
                                                     "(default: a temporary folder, removed at the end)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny run for CI: a few small images, small libraries, 1 repeat")
    args = parser.parse_args(argv)
    unknown = args.skip - set(METHODS)
    if unknown:
        parser.error(f"--skip: unknown method(s) {', '.join(sorted(unknown))}; choose from {', '.join(METHODS)}")
    specs = SMOKE if args.smoke else FULL
    if not set(args.workloads) <= set(specs):
        parser.error(f"--workloads: choose from {', '.join(specs)}")
    if args.smoke:
        args.repeats, args.budget, args.loop_tiles, args.check_tiles = 1, min(args.budget, 30.0), 4, 10_000
    if not os.access(args.tessera, os.X_OK):
        sys.exit(f"bench: no tessera binary at {args.tessera}; run scripts/build.sh or pass --tessera")
    if args.photos is None:
        wanted = any(specs[k].photos for k in args.workloads)
        args.photos = args.images if args.smoke or not wanted else str(photos.fetch(args.cache))
    # "tessera 0.1.0 (simd: avx512)": the level the search uses, TESSERA_SIMD included.
    version = run([args.tessera, "--version"]).stdout
    args.simd_level = version.split("simd:", 1)[1].strip(" )\n") if "simd:" in version else "unknown"
    args.has_timings = "--timings" in run([args.tessera, "mosaic", "--help"]).stdout

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "bench/compare.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "versions": versions(args.tessera),
        "repeats": args.repeats,
        "omp_wait_policy": {"tessera": ENVIRONMENT.get("OMP_WAIT_POLICY", "unset"),
                            "others": os.environ["OMP_WAIT_POLICY"]},
        "smoke": args.smoke,
        "simd_level": args.simd_level,
        "ghz": args.ghz,
        "stages_from": "tessera mosaic --timings" if args.has_timings else "outside the process",
        "workloads": [],
    }
    log(f"{report['versions']['tessera']} on {report['machine']['cpu']} ({report['machine']['cores']} cores), "
        f"work folder {work}")
    rng = np.random.default_rng(args.seed)
    try:
        for key in args.workloads:
            report["workloads"].append(run_workload(specs[key], args, work, rng))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)

    chart = out.with_suffix(".png")
    draw_chart(report, chart)
    out.write_text(render_markdown(report, chart.name))
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    log(render_text(report))
    log(f"\nwrote {out}, {chart} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
