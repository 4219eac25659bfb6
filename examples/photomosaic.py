#!/usr/bin/python3
"""Makes the README's photomosaic pictures from the bundled images only (data/, data/LICENSES.md).

1. photos/: square crops (random size and place, fixed seed) of every bundled photograph except
   the astronaut, one file each, so the same folder comes out on every run;
   portrait.jpg: data/astronaut.png as a JPEG.
2. The README's two commands, as a user runs them:
     tessera build -o photos.tsr --whole --tile 16 --render 96 photos/
     tessera mosaic photos.tsr portrait.jpg -o poster.png --grid 80 --color 0.3 \\
         --report report.json --matches cells.csv
3. docs/photomosaic.jpg (the poster shrunk to 512 px wide) and docs/photomosaic-crop.jpg (a window
   of the poster at full size, over the mission patch on the suit, where the photos show).

Run from the repository root: /usr/bin/python3 examples/photomosaic.py [--tessera build/tessera]
[--work DIR] (default: a temporary folder, removed afterwards).
"""

import argparse
import json
import random
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg", "retina.jpg",
          "brick.png", "grass.png", "gravel.png", "coins.png"]
CROPS_PER_PHOTO = 60
CROP_SIDE = 96  # the render size: photos are stored at it, so no upsampling
# The crop window (poster pixels, whole cells of 96 px): 8x6 cells over the mission patch.
CROP_BOX = (96 * 22, 96 * 54, 96 * 30, 96 * 60)


def make_inputs(work):
    rng = random.Random(14)
    photos = work / "photos"
    photos.mkdir()
    for name in PHOTOS:
        with Image.open(ROOT / "data" / name) as im:
            im = im.convert("RGB")
        w, h = im.size
        for n in range(CROPS_PER_PHOTO):
            side = rng.randint(min(w, h) // 8, min(w, h) // 2)
            x, y = rng.randint(0, w - side), rng.randint(0, h - side)
            crop = im.crop((x, y, x + side, y + side)).resize((CROP_SIDE, CROP_SIDE),
                                                               Image.Resampling.LANCZOS)
            crop.save(photos / f"{Path(name).stem}-{n:02d}.jpg", quality=92)
    Image.open(ROOT / "data" / "astronaut.png").convert("RGB").save(work / "portrait.jpg", quality=95)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tessera", default=str(ROOT / "build" / "tessera"))
    parser.add_argument("--work", help="folder for photos/, the library and the poster (kept)")
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="tessera-photomosaic-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        make_inputs(work)
        for command in (
                ["build", "-o", "photos.tsr", "--whole", "--tile", "16", "--render", "96", "photos/"],
                ["mosaic", "photos.tsr", "portrait.jpg", "-o", "poster.png", "--grid", "80",
                 "--color", "0.3", "--report", "report.json", "--matches", "cells.csv"]):
            print("$ tessera " + shlex.join(command), flush=True)
            subprocess.run([args.tessera, *command], cwd=work, check=True)
        report = json.loads((work / "report.json").read_text())
        print(f"report.json: PSNR {report['psnr']:.2f} dB, SSIM {report['ssim']:.3f}, "
              f"{report['distinct_tiles']} distinct photos in {report['cells']} cells")
        with Image.open(work / "poster.png") as poster:
            print(f"poster.png: {poster.width}x{poster.height}")
            small = poster.resize((512, 512 * poster.height // poster.width), Image.Resampling.LANCZOS)
            small.save(ROOT / "docs" / "photomosaic.jpg", quality=85)
            poster.crop(CROP_BOX).save(ROOT / "docs" / "photomosaic-crop.jpg", quality=85)
    finally:
        if not args.work:
            shutil.rmtree(work)


if __name__ == "__main__":
    main()
