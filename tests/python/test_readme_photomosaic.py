"""The README's photomosaic commands (issue 14) run as written, as a new user runs them: in a folder
holding photos/ and portrait.jpg, with nothing else prepared. The poster, report and matches have
what the README says (7680x7680, 80 cells of 96 pixels a side)."""

import csv
import json
import pathlib
import re
import shlex
import subprocess

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]


def readme_commands():
    section = (ROOT / "README.md").read_text().split("### Photomosaics", 1)[1].split("\n### ", 1)[0]
    return [shlex.split(line[2:]) for line in re.findall(r"^\$ tessera .*$", section, re.M)]


def test_readme_photomosaic_commands(tessera_bin, data_dir, tmp_path):
    commands = readme_commands()
    assert [c[:2] for c in commands] == [["tessera", "build"], ["tessera", "mosaic"]]
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea.png", "coffee.png", "rocket.jpg", "coins.png"):
        with Image.open(data_dir / name) as im:
            im = im.convert("RGB")
        for n, box in enumerate([(0, 0, 120, 120), (60, 40, 300, 280), (100, 100, 200, 200)]):
            im.crop(box).save(photos / f"{pathlib.Path(name).stem}-{n}.jpg")
    Image.open(data_dir / "astronaut.png").convert("RGB").save(tmp_path / "portrait.jpg")
    for command in commands:
        got = subprocess.run([tessera_bin, *command[1:]], cwd=tmp_path, capture_output=True,
                             text=True, timeout=600)
        assert got.returncode == 0, got.stderr
    with Image.open(tmp_path / "poster.png") as poster:
        assert poster.size == (7680, 7680)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["cells"] == 80 * 80 and 0 < report["ssim"] < 1
    with open(tmp_path / "cells.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 80 * 80
    assert {r["source"] for r in rows} <= {f"photos/{p.name}" for p in photos.iterdir()}
