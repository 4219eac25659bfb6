"""The module gives the CLI's results: the same library file, mosaic pixels and matches."""

import csv
import shutil
import warnings

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


@pytest.mark.parametrize("size", [(5, 3), (40, 7), (9, 20)])
def test_target_smaller_than_the_tile_matches_the_oracle(tessera_bin, data_dir, tmp_path, size):
    """Smaller than the 16x16 tile in one side or both: cropped tiles in both front ends, the
    oracle's matches."""
    library = tmp_path / "lib.tsr"
    run(tessera_bin, "build", data_dir / "coins.png", "-q", "-o", library, "--mode", "gray",
        "--rotations", "0,90")
    target = tmp_path / "small.png"
    with Image.open(data_dir / "chelsea.png") as im:
        im.convert("L").crop((200, 100, 200 + size[0], 100 + size[1])).save(target)
    run(tessera_bin, "mosaic", "-q", library, target, "-o", tmp_path / "out.png",
        "--matches", tmp_path / "matches.csv")
    lib = tessera.Library.open(library)
    result = lib.mosaic(target, return_matches=True)
    image, matches, _ = lib._core.mosaic(np.asarray(Image.open(target)), 1, bruteforce=True)
    assert len(matches) == -(-size[0] // 16) * -(-size[1] // 16)
    np.testing.assert_array_equal(result.image, image)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out.png")), image)
    with open(tmp_path / "matches.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for field in ("x", "y", "width", "height", "patch", "distance"):
        np.testing.assert_array_equal(result.matches[field], matches[field])
    for field in ("x", "y", "patch", "distance"):
        np.testing.assert_array_equal([int(r[field]) for r in rows], matches[field])


def cli_messages(tessera_bin, *args):
    """The CLI's warnings and error (without 'tessera: '), and its exit status."""
    proc = run(tessera_bin, *args, check=False)
    lines = proc.stderr.splitlines()
    warned = [line[len("tessera: warning: "):] for line in lines
              if line.startswith("tessera: warning: ")]
    errors = [line[len("tessera: "):] for line in lines
              if line.startswith("tessera: ") and not line.startswith("tessera: warning: ")]
    return warned, errors, proc.returncode


def module_messages(build):
    """Library.build's warnings and error message."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            build()
            error = []
        except tessera.Error as e:
            error = [str(e)]
    return [str(w.message) for w in caught], error


@pytest.fixture
def mixed_directory(data_dir, tmp_path):
    """A good image, an undecodable one and one smaller than a 16x8 tile, in path order."""
    d = tmp_path / "train"
    d.mkdir()
    for name, data in {"a.png": (data_dir / "coins.png").read_bytes(), "b.jpg": b"not a jpeg"}.items():
        (d / name).write_bytes(data)
    Image.new("L", (12, 6)).save(d / "c.png")
    return d


@pytest.mark.parametrize("strict", [False, True])
def test_build_warnings_and_errors_equal_the_cli(tessera_bin, mixed_directory, tmp_path, strict):
    """One rule (tessera/pipeline/add_sources.hpp) behind both: the same warnings, errors and library; sizes
    in messages are width x height."""
    cli = cli_messages(tessera_bin, "build", "-q", "-o", tmp_path / "cli.tsr", "--tile", "16x8",
                       "--mode", "gray", mixed_directory, *(["--strict"] if strict else []))
    py = module_messages(lambda: tessera.Library.build(
        mixed_directory, tile=(8, 16), mode="gray", strict=strict).save(tmp_path / "py.tsr"))
    assert py == cli[:2]
    assert cli[2] == (1 if strict else 0)
    if strict:
        assert py[1] == [f"{mixed_directory / 'b.jpg'}: not a supported image format "
                         "(PNG, JPEG, BMP, PNM, TIFF, WebP, GIF, HEIF)"]
        assert not (tmp_path / "py.tsr").exists()
    else:
        assert py[0] == [f"{mixed_directory / 'b.jpg'}: not a supported image format "
                         "(PNG, JPEG, BMP, PNM, TIFF, WebP, GIF, HEIF); skipped",
                         f"{mixed_directory / 'c.png'}: 12x6 is smaller than the tile 16x8; "
                         "no patches from it"]
        assert (tmp_path / "py.tsr").read_bytes() == (tmp_path / "cli.tsr").read_bytes()


def test_strict_refuses_a_too_small_image_in_both(tessera_bin, mixed_directory, tmp_path):
    small = mixed_directory / "c.png"
    cli = cli_messages(tessera_bin, "build", "-o", tmp_path / "cli.tsr", "--tile", "16x8",
                       "--strict", mixed_directory / "a.png", small)
    py = module_messages(lambda: tessera.Library.build(
        [mixed_directory / "a.png", small], tile=(8, 16), strict=True))
    assert py == cli[:2] == ([], [f"{small}: 12x6 is smaller than the tile 16x8"])


def test_pixel_limit_names_each_front_ends_option(tessera_bin, data_dir, tmp_path):
    """The same message; each names its own way to raise the limit."""
    image = data_dir / "coins.png"  # 384x303
    cli = cli_messages(tessera_bin, "build", "-o", tmp_path / "cli.tsr", "--max-pixels", 1000,
                       image)
    py = module_messages(lambda: tessera.Library.build([image], max_pixels=1000))
    expected = (f"{image}: image is 384x303 = 116352 pixels, over the limit of 1000; raise it "
                "with {} if the file is trusted")
    assert cli[1] == [expected.format("--max-pixels")]
    assert py[1] == [expected.format("max_pixels=")]

    run(tessera_bin, "build", "-q", "-o", tmp_path / "lib.tsr", image)
    cli = cli_messages(tessera_bin, "mosaic", tmp_path / "lib.tsr", image, "-o",
                       tmp_path / "out.png", "--max-pixels", 1000)
    assert cli[1] == [expected.format("--max-pixels")]
    with pytest.raises(tessera.Error) as e:
        tessera.Library.open(tmp_path / "lib.tsr").mosaic(image, max_pixels=1000)
    assert str(e.value) == expected.format("max_pixels=")


def test_nothing_to_build_from_is_one_message_in_both(tessera_bin, mixed_directory, tmp_path):
    """When no image gives a patch the error counts why (not 'every source is smaller than the
    tile' when none was); a directory without images is named with the extensions searched."""
    (mixed_directory / "a.png").unlink()
    cli = cli_messages(tessera_bin, "build", "-o", tmp_path / "cli.tsr", "--tile", "16x8",
                       mixed_directory)
    py = module_messages(lambda: tessera.Library.build(mixed_directory, tile=(8, 16)))
    assert py[1] == cli[1] == ["no patches: 1 file could not be read or decoded and 1 image was smaller "
                               "than the tile 16x8"]
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("not an image")
    cli = cli_messages(tessera_bin, "build", "-o", tmp_path / "cli.tsr", empty)
    py = module_messages(lambda: tessera.Library.build(empty))
    assert py[1] == cli[1]
    assert cli[1][0].startswith(f"no image files found in {empty}: directories are searched "
                                "recursively for the extensions .png .jpg")
    assert not (tmp_path / "cli.tsr").exists()
    # Both look at every input together, images in memory (made in their turn) included.
    assert len(tessera.Library.build([empty, np.zeros((8, 8), np.uint8)], tile=8).sources) == 1
    with pytest.warns(UserWarning, match="<image 1>: 4x4 is smaller than the tile"):
        with pytest.raises(tessera.Error, match="^no patches: 1 file could not be read or decoded "
                           "and 2 images were smaller than the tile 16x8$"):
            tessera.Library.build([mixed_directory, Image.new("L", (4, 4))], tile=(8, 16))
