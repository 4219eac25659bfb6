"""The module gives the CLI's results: the same library file, mosaic pixels and matches."""

import csv
import shutil

import numpy as np
import pytest
from PIL import Image

import tessera
from tessera_testing import run


@pytest.mark.parametrize(
    "options, kwargs",
    [
        (["--tile", "16", "--mode", "gray", "--rotations", "0,90,180,270"],
         dict(tile=16, mode="gray", rotations=(0, 90, 180, 270))),
        (["--tile", "12x8", "--stride", "5x7", "--flips", "--rotations", "0,180"],
         dict(tile=(8, 12), stride=(7, 5), rotations=(0, 180), flips=True)),
    ],
)
def test_build_writes_the_cli_file(tessera_bin, data_dir, tmp_path, options, kwargs):
    sources = [data_dir / "chelsea.png", data_dir / "coins.png", data_dir / "horse.png"]
    run(tessera_bin, "build", *sources, "-q", "-o", tmp_path / "cli.tsr", *options)
    tessera.Library.build(sources, **kwargs).save(tmp_path / "py.tsr")
    assert (tmp_path / "py.tsr").read_bytes() == (tmp_path / "cli.tsr").read_bytes()


def test_directory_input_skips_bad_files_like_the_cli(tessera_bin, data_dir, tmp_path):
    train = tmp_path / "train"
    (train / "sub").mkdir(parents=True)
    shutil.copy(data_dir / "coins.png", train / "b.png")
    shutil.copy(data_dir / "brick.png", train / "sub" / "a.png")
    (train / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    run(tessera_bin, "build", "-q", "-o", tmp_path / "cli.tsr", "--mode", "gray", train)
    with pytest.warns(UserWarning, match="broken.png.*skipped"):
        lib = tessera.Library.build(str(train), mode="gray")
    lib.save(tmp_path / "py.tsr")
    assert (tmp_path / "py.tsr").read_bytes() == (tmp_path / "cli.tsr").read_bytes()
    assert [s.path for s in lib.sources] == [str(train / "b.png"), str(train / "sub" / "a.png")]


@pytest.mark.parametrize("mode", ["gray", "rgb"])
def test_mosaic_equals_the_cli(tessera_bin, data_dir, tmp_path, mode):
    library = tmp_path / "lib.tsr"
    target = data_dir / "chelsea.png"  # 451x300: edge tiles on both sides
    run(tessera_bin, "build", data_dir / "coffee.png", data_dir / "coins.png", "-q", "-o", library,
        "--tile", "16", "--mode", mode, "--rotations", "0,90")
    run(tessera_bin, "mosaic", "-q", library, target, "-o", tmp_path / "out.png",
        "--matches", tmp_path / "matches.csv")
    lib = tessera.Library.open(library)
    result = lib.mosaic(target, return_matches=True)
    np.testing.assert_array_equal(result.image, np.asarray(Image.open(tmp_path / "out.png")))
    with open(tmp_path / "matches.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(result.matches)
    for field in ("row", "col", "x", "y", "patch", "distance"):
        np.testing.assert_array_equal(result.matches[field], [int(r[field]) for r in rows])
    info = lib.provenance(result.matches["patch"])
    assert list(info.path) == [r["source"] for r in rows]
    assert list(info.x) == [int(r["source_x"]) for r in rows]
    assert list(info.transform) == [r["transform"] for r in rows]
