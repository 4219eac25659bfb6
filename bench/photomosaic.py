#!/usr/bin/python3
"""Photomosaic workload: tessera and Debian's metapixel side by side, in one run.

Both tools get the same photo collection (random square crops of the benchmark's real photographs,
bench/photos.py, or of --photos DIR), the same target (a held-out photograph, centre square, resized
to --target-size), the same cell size at render (--cell) and the same output size (target x --scale).
For each tool: preparation time (metapixel-prepare vs tessera build --whole), mosaic time writing
JPEG and PNG, peak memory (GNU time's %M), and PSNR and SSIM of the poster against the target, all
measured by this script the same way for both: the PNG poster shrunk to the target's size by PIL's
box filter (an exact mean of scale x scale pixels), then scikit-image's peak_signal_noise_ratio and
structural_similarity (default 7x7 window, data_range 255, channel_axis 2, mean over channels).

Wall time is measured on a machine that may be shared, so user+sys CPU time is reported beside it.

Run: /usr/bin/python3 bench/photomosaic.py [--tessera build/tessera] [--photos DIR]
     [--out bench/results/photomosaic.md]     (writes .md and .json)
     /usr/bin/python3 bench/photomosaic.py --smoke --out /tmp/p.md    (seconds, bundled images only)
"""

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import photos as bench_photos  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TIME = "/usr/bin/time"


def measured(cmd, label, env=None):
    """Runs `cmd` under GNU time; returns wall, user, sys seconds and peak RSS (MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        got = subprocess.run([TIME, "-f", "%e %U %S %M", "-o", stats.name, *cmd],
                             capture_output=True, text=True, env={**os.environ, **(env or {})})
        if got.returncode != 0:
            sys.exit(f"photomosaic: {label} failed ({got.returncode}): {' '.join(cmd)}\n"
                     f"{got.stdout[-2000:]}{got.stderr[-2000:]}")
        wall, user, system, peak_kb = stats.read().split()[-4:]
    settings = [f"{name}={value}" for name, value in (env or {}).items()]
    return {"command": " ".join(settings + list(cmd)), "wall_s": float(wall),
            "cpu_s": float(user) + float(system), "peak_mb": int(peak_kb) / 1024}


def make_collection(sources, count, side, folder, seed):
    """`count` square crops (random size and place) of the `sources`, each saved as a `side`-pixel
    JPEG, so both tools read identical files."""
    from PIL import Image
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    opened = []
    for path in sources:
        with Image.open(path) as im:
            opened.append(im.convert("RGB"))
    for n in range(count):
        im = opened[n % len(opened)]
        w, h = im.size
        crop = rng.randint(max(8, min(w, h) // 8), min(w, h) // 2)
        x, y = rng.randint(0, w - crop), rng.randint(0, h - crop)
        tile = im.crop((x, y, x + crop, y + crop)).resize((side, side), Image.Resampling.LANCZOS)
        tile.save(folder / f"crop{n:05d}.jpg", quality=90)


def make_target(source, size, path):
    from PIL import Image
    with Image.open(source) as im:
        im = im.convert("RGB")
        s = min(im.size)
        x, y = (im.width - s) // 2, (im.height - s) // 2
        im.crop((x, y, x + s, y + s)).resize((size, size), Image.Resampling.LANCZOS).save(path)


def quality(poster, target, scale):
    """PSNR and SSIM of `poster` against `target`, the poster shrunk by a box filter first."""
    import numpy as np
    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    ref = np.asarray(Image.open(target).convert("RGB"))
    with Image.open(poster) as im:
        got_size = im.size
        small = np.asarray(im.convert("RGB").reduce(scale))
    if small.shape != ref.shape:
        sys.exit(f"photomosaic: {poster} is {got_size}, expected {ref.shape[1] * scale}x"
                 f"{ref.shape[0] * scale}")
    return {"psnr_db": float(peak_signal_noise_ratio(ref, small, data_range=255)),
            "ssim": float(structural_similarity(ref, small, data_range=255, channel_axis=2)),
            "poster": f"{got_size[0]}x{got_size[1]}"}


def run(args):
    work = Path(tempfile.mkdtemp(prefix="tessera-photomosaic-"))
    try:
        return run_in(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_in(args, work):
    if args.smoke:
        sources = sorted(p for p in (ROOT / "data").iterdir()
                         if p.suffix in (".png", ".jpg") and p.name != "astronaut.png")
        target_source = ROOT / "data" / "astronaut.png"
        credits = "the bundled images in data/ (licences: data/LICENSES.md)"
    else:
        folder = Path(args.photos) if args.photos else bench_photos.fetch(args.cache)
        found = bench_photos.photographs(folder)
        if len(found) < 2:
            sys.exit(f"photomosaic: {folder} needs at least 2 photographs (one is the target)")
        target_source, sources = found[0], found[1:]
        credits = (f"{len(sources)} photographs in {folder}" if args.photos else
                   f"{len(sources)} photographs of Debian's {bench_photos.PACKAGE} (credits: bench/README.md)")
    cell, scale = args.cell, args.scale
    if cell % scale:
        sys.exit("photomosaic: --cell must be a multiple of --scale")
    tile = cell // scale  # the target's pixels under one cell: both tools match at this size
    grid = args.target_size // tile
    collection, target = work / "photos", work / "target.png"
    make_collection(sources, args.count, args.crop_side, collection, args.seed)
    make_target(target_source, args.target_size, target)

    tools = {}
    tessera = [args.tessera]
    lib = work / "photos.tsr"
    t = {"prepare": measured(tessera + ["build", "-q", "-o", str(lib), "--whole", "--tile", str(tile),
                                        "--render", str(cell), str(collection)], "tessera build")}
    for fmt in ("jpg", "png"):
        out = work / f"tessera.{fmt}"
        t[f"mosaic_{fmt}"] = measured(tessera + ["mosaic", "-q", str(lib), str(target), "-o", str(out),
                                                 "--grid", str(grid)], "tessera mosaic")
    # The same matches drawn at half the render size: does peak memory follow the poster's size?
    t["mosaic_png_half_size"] = measured(
        tessera + ["mosaic", "-q", str(lib), str(target), "-o", str(work / "tessera-half.png"),
                   "--grid", str(grid), "--render-size", str(max(tile, cell // 2))], "tessera mosaic")
    t["quality"] = quality(work / "tessera.png", target, scale)
    t["quality_jpg"] = quality(work / "tessera.jpg", target, scale)
    tools["tessera"] = t

    if shutil.which(args.metapixel) is None or shutil.which(args.metapixel + "-prepare") is None:
        sys.exit(f"photomosaic: {args.metapixel} and {args.metapixel}-prepare are needed "
                 "(Debian package metapixel)")
    prepared = work / "metapixel-library"
    prepared.mkdir()
    size = [f"--width={cell}", f"--height={cell}"]
    m = {"prepare": measured([args.metapixel + "-prepare", *size, str(collection), str(prepared)],
                             "metapixel-prepare")}
    for fmt in ("jpg", "png"):
        out = work / f"metapixel.{fmt}"
        m[f"mosaic_{fmt}"] = measured(
            [args.metapixel, f"--library={prepared}", *size, f"--scale={scale}",
             f"--distance={args.distance}", "--metapixel", str(target), str(out)], "metapixel")
    # tessera places a photo in as many cells as it fits best; metapixel without its distance rule
    # does the same, so its quality is also measured that way.
    m["mosaic_png_distance0"] = measured(
        [args.metapixel, f"--library={prepared}", *size, f"--scale={scale}", "--distance=0",
         "--metapixel", str(target), str(work / "metapixel-d0.png")], "metapixel")
    m["quality_distance0"] = quality(work / "metapixel-d0.png", target, scale)
    m["quality"] = quality(work / "metapixel.png", target, scale)
    m["quality_jpg"] = quality(work / "metapixel.jpg", target, scale)
    tools["metapixel"] = m

    return {
        "smoke": args.smoke, "photos": args.count, "photo_side": args.crop_side,
        "target": f"{args.target_size}x{args.target_size} from {target_source.name}",
        "cells": f"{grid}x{grid}", "cell_px": cell, "match_px": tile, "scale": scale,
        "credits": credits, "machine": machine(args.tessera), "tools": tools,
    }


def machine(tessera):
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    simd = subprocess.run([tessera, "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "load_1min": os.getloadavg()[0], "tessera": simd,
            "metapixel": subprocess.run(["dpkg-query", "-W", "-f=${Version}", "metapixel"],
                                        capture_output=True, text=True).stdout.strip() or "?"}


def markdown(report):
    t, m = report["tools"]["tessera"], report["tools"]["metapixel"]
    mc = report["machine"]
    lines = [
        "# Photomosaic: tessera and metapixel side by side",
        "",
        f"{report['photos']} photos ({report['photo_side']}px square crops of {report['credits']}), "
        f"target {report['target']}, {report['cells']} cells of {report['cell_px']}x{report['cell_px']} "
        f"at render (matched at {report['match_px']}x{report['match_px']}), poster {t['quality']['poster']}."
        + (" **Smoke run: tiny sizes, numbers mean nothing.**" if report["smoke"] else ""),
        "",
        f"Machine: {mc['cpu']}, {mc['cores']} cores, 1-min load {mc['load_1min']:.1f} at the end (shared: "
        f"compare CPU time as well as wall); {mc['tessera']}; metapixel {mc['metapixel']} (single-threaded).",
        "",
        "| | tessera | metapixel | metapixel / tessera |",
        "|---|---|---|---|",
    ]

    def row(name, key, field, fmt):
        a, b = t[key][field], m[key][field]
        ratio = f"{b / a:.1f}x" if a else "-"
        lines.append(f"| {name} | {fmt.format(a)} | {fmt.format(b)} | {ratio} |")

    for key, name in (("prepare", "prepare"), ("mosaic_jpg", "mosaic, JPEG"), ("mosaic_png", "mosaic, PNG")):
        row(f"{name}: wall s", key, "wall_s", "{:.2f}")
        row(f"{name}: CPU s (user+sys)", key, "cpu_s", "{:.2f}")
        row(f"{name}: peak RSS MB", key, "peak_mb", "{:.1f}")
    for label, key in (("PNG", "quality"), ("JPEG", "quality_jpg")):
        lines.append(f"| PSNR dB ({label} poster) | {t[key]['psnr_db']:.2f} | {m[key]['psnr_db']:.2f} | |")
        lines.append(f"| SSIM ({label} poster) | {t[key]['ssim']:.3f} | {m[key]['ssim']:.3f} | |")
    half, d0 = t["mosaic_png_half_size"], m["quality_distance0"]
    lines += [
        "",
        f"metapixel --distance 0 (a photo may repeat in neighbouring cells, as in tessera without "
        f"--max-uses), PNG: PSNR {d0['psnr_db']:.2f} dB, SSIM {d0['ssim']:.3f}, "
        f"{m['mosaic_png_distance0']['wall_s']:.2f} s wall, {m['mosaic_png_distance0']['cpu_s']:.2f} s CPU.",
        "",
        f"tessera at half the render size (same matches, poster a quarter of the pixels, PNG): "
        f"peak RSS {half['peak_mb']:.1f} MB vs {t['mosaic_png']['peak_mb']:.1f} MB full size.",
        "",
        "PSNR/SSIM: each poster shrunk to the target's size by PIL's box filter, then scikit-image "
        "peak_signal_noise_ratio and structural_similarity (7x7, data_range 255, channel_axis 2).",
        "",
        "Commands (paths shortened to their names):",
        "",
    ]
    for tool in (t, m):
        for key in ("prepare", "mosaic_jpg", "mosaic_png"):
            lines.append(f"    {shorten(tool[key]['command'])}")
    lines.append(f"    {shorten(half['command'])}")
    lines.append(f"    {shorten(m['mosaic_png_distance0']['command'])}")
    return "\n".join(lines) + "\n"


def shorten(command):
    """The command with each path replaced by its file name (--library=PATH too)."""
    def short(word):
        if word.startswith("--library="):
            return "--library=" + Path(word.split("=", 1)[1]).name
        return Path(word).name if "/" in word and not word.startswith("--") else word
    return " ".join(short(w) for w in command.split())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tessera", default=str(ROOT / "build" / "tessera"))
    parser.add_argument("--metapixel", default="metapixel", help="metapixel (and NAME-prepare) to run")
    parser.add_argument("--photos", help="folder of photographs to crop (default: bench/photos.py's)")
    parser.add_argument("--cache", default=str(bench_photos.default_cache()))
    parser.add_argument("--count", type=int, default=1500, help="photos in the collection (1500)")
    parser.add_argument("--crop-side", type=int, default=128, help="side of each photo file (128)")
    parser.add_argument("--target-size", type=int, default=1024, help="target side in pixels (1024)")
    parser.add_argument("--scale", type=int, default=4, help="poster side / target side (4)")
    parser.add_argument("--cell", type=int, default=32, help="cell side at render (32)")
    parser.add_argument("--distance", type=int, default=5, help="metapixel --distance (5)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "photomosaic.md"))
    parser.add_argument("--smoke", action="store_true", help="tiny run on bundled images (seconds)")
    args = parser.parse_args()
    if args.smoke:
        # metapixel refuses a --distance that the collection cannot fill: 1 needs 9 photos.
        args.count, args.crop_side, args.target_size, args.scale, args.cell = 40, 32, 128, 2, 16
        args.distance = 1
    report = run(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(report))
    out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
