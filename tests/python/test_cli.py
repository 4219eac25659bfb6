"""The tessera command end to end: every command and option, checked against numpy, and errors
in the images given giving one clear line, a non-zero exit and no output file. Bad arguments,
unusable outputs and damaged libraries are in test_hostile_cli.py."""

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tessera_testing import (TRANSFORMS, assert_failed, cut, files_in, load, noise, read_library,
                             read_matches_csv, run, run_on_terminal, transform, visible_tiles)

ROTATIONS = "0,90,180,270"


@pytest.fixture(scope="module")
def sources(tmp_path_factory, data_dir):
    """Source images whose sides are multiples of 16: a square gray PNG, a gray crop and a
    non-square colour crop."""
    d = tmp_path_factory.mktemp("sources")
    shutil.copy(data_dir / "brick.png", d / "a_brick.png")
    with Image.open(data_dir / "coins.png") as im:
        im.crop((0, 0, 384, 288)).save(d / "b_coins.png")
    with Image.open(data_dir / "chelsea.png") as im:
        im.crop((0, 0, 448, 288)).save(d / "c_chelsea.png")
    return d


@pytest.fixture(scope="module")
def gray_library(tessera_bin, sources, tmp_path_factory):
    """The issue's first command: gray 16x16 patches with 4 rotations, from a directory."""
    out = tmp_path_factory.mktemp("lib") / "lib.tsr"
    run(tessera_bin, "build", "-o", out, "--tile", 16, "--stride", 16, "--rotations", ROTATIONS,
        "--mode", "gray", sources)
    return out


# ---- help and version ----

@pytest.mark.parametrize("command, flags", [
    ([], ["build", "mosaic", "info", "--version"]),
    (["build"], ["--output", "--tile", "--stride", "--rotations", "--flips", "--mode", "--strict",
                 "--quiet", "=16", "=rgb", "[default: the tile size]"]),
    (["mosaic"], ["--output", "--matches", "--quality", "=90", "--threads", "--quiet", "0 = all cores",
                  "65500"]),
    (["info"], ["--verify", "--sources"]),
])
def test_help(tessera_bin, command, flags):
    proc = run(tessera_bin, *command, "--help")
    assert proc.stderr == ""
    for flag in flags:
        assert flag in proc.stdout, flag


def test_version(tessera_bin):
    proc = run(tessera_bin, "--version")
    # The version, then possibly build details such as the SIMD level.
    assert re.fullmatch(r"tessera \d+\.\d+\.\d+( .*)?\n", proc.stdout), proc.stdout


# ---- build and info ----

def test_build_and_info(tessera_bin, gray_library, sources):
    proc = run(tessera_bin, "info", gray_library, "--sources", "--verify")
    info = dict(line.split(None, 1) for line in proc.stdout.splitlines() if not line.startswith("source "))
    windows = 32 * 32 + 24 * 18 + 28 * 18
    assert info["format"] == str(read_library(gray_library).version)
    assert info["mode"] == "gray"
    assert info["tile"] == "16x16"
    assert info["stride"] == "16x16"
    assert info["transforms"] == "rot0 rot90 rot180 rot270"
    assert info["patches"] == str(4 * windows)
    assert info["sources"] == "3"
    assert info["bytes"].split()[0] == str(gray_library.stat().st_size)
    assert info["checksum"] == "ok"
    # Sources sorted by path, with their sizes.
    listed = [line.split()[1:3] for line in proc.stdout.splitlines() if line.startswith("source ")]
    assert listed == [[str(sources / "a_brick.png"), "512x512"],
                      [str(sources / "b_coins.png"), "384x288"],
                      [str(sources / "c_chelsea.png"), "448x288"]]


def test_patch_set_equals_original_workflow(gray_library, sources):
    """With stride = tile, 4 rotations and sides multiple of the tile, the patches are exactly
    those the original workflow cuts from each np.rot90-rotated image (as a multiset)."""
    lib = read_library(gray_library)
    original = []
    for name in ("a_brick.png", "b_coins.png", "c_chelsea.png"):
        image = load(sources / name)
        for k in range(4):
            original += cut(np.rot90(image, k), (16, 16), (16, 16))
    assert len(original) == len(lib.patches)
    key = lambda p: p.tobytes()
    assert sorted(map(key, original)) == sorted(map(key, lib.patches))


def test_provenance_and_norms(gray_library):
    """Each patch is its source window under its transform; ids run over sources, then
    transforms, then windows in row-major order."""
    lib = read_library(gray_library)
    images = [load(s["path"]) for s in lib.sources]
    expected_order = []
    for s, image in enumerate(images):
        h, w = image.shape
        for t in range(4):
            expected_order += [(s, x, y, t) for y in range(0, h - 15, 16) for x in range(0, w - 15, 16)]
    got = [tuple(int(v) for v in o) for o in lib.origins]
    assert got == expected_order
    for i in range(0, len(lib.patches), 37):
        s, x, y, t = got[i]
        np.testing.assert_array_equal(lib.patches[i], transform(images[s][y : y + 16, x : x + 16], t))
    np.testing.assert_array_equal(lib.norms, (lib.patches.astype(np.int64) ** 2).sum(axis=(1, 2)))


def test_flips(tessera_bin, sources, tmp_path):
    out = tmp_path / "flips.tsr"
    run(tessera_bin, "build", "-o", out, "--tile", 8, "--rotations", "0,90", "--flips", "--mode",
        "gray", sources / "b_coins.png")
    proc = run(tessera_bin, "info", out)
    assert "transforms  rot0 rot90 flip flip-rot90" in proc.stdout
    lib = read_library(out)
    image = load(sources / "b_coins.png")
    assert len(lib.patches) == 4 * 48 * 36
    for i in range(0, len(lib.patches), 11):
        s, x, y, t = (int(v) for v in lib.origins[i])
        assert t in (0, 1, 4, 5)
        np.testing.assert_array_equal(lib.patches[i], transform(image[y : y + 8, x : x + 8], t))


def test_non_square_tile_and_stride(tessera_bin, sources, data_dir, tmp_path):
    out = tmp_path / "wide.tsr"
    run(tessera_bin, "build", "-o", out, "--tile", "16x8", "--stride", "8x4", "--rotations", "0,180",
        "--mode", "rgb", sources / "c_chelsea.png")
    proc = run(tessera_bin, "info", out)
    assert "tile        16x8" in proc.stdout
    assert "stride      8x4" in proc.stdout
    assert "mode        rgb" in proc.stdout
    lib = read_library(out)
    image = load(sources / "c_chelsea.png", "RGB")
    windows = cut(image, (16, 8), (8, 4))
    assert len(windows) == ((448 - 16) // 8 + 1) * ((288 - 8) // 4 + 1)
    assert lib.patches.shape == (2 * len(windows), 8, 16, 3)
    np.testing.assert_array_equal(lib.patches[: len(windows)], np.stack(windows))
    np.testing.assert_array_equal(lib.patches[len(windows) :], np.stack([np.rot90(w, 2) for w in windows]))

    # Mosaic with the wide tile: tiles step 16 across and 8 down, edge tiles cropped.
    target = tmp_path / "target.png"
    with Image.open(data_dir / "rocket.jpg") as im:
        im.convert("RGB").crop((0, 0, 100, 60)).save(target)
    run(tessera_bin, "mosaic", out, target, "-o", tmp_path / "out.png", "--matches", tmp_path / "m.csv")
    rows = read_matches_csv(tmp_path / "m.csv")
    assert [(r["x"], r["y"]) for r in rows] == [(x, y) for y in range(0, 60, 8) for x in range(0, 100, 16)]
    with Image.open(tmp_path / "out.png") as im:
        assert im.size == (100, 60) and im.mode == "RGB"


def test_directories_are_recursed_sorted_and_hidden_skipped(tessera_bin, data_dir, tmp_path):
    d = tmp_path / "train"
    (d / "sub").mkdir(parents=True)
    (d / ".hidden").mkdir()
    shutil.copy(data_dir / "horse.png", d / "z.png")
    shutil.copy(data_dir / "coins.png", d / "sub" / "a.png")
    shutil.copy(data_dir / "coins.png", d / ".hidden" / "h.png")
    shutil.copy(data_dir / "coins.png", d / ".dot.png")
    (d / "notes.txt").write_text("not an image")
    out = tmp_path / "lib.tsr"
    run(tessera_bin, "build", "-o", out, "--tile", 32, d)
    proc = run(tessera_bin, "info", "--sources", out)
    assert [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("source ")] == [
        str(d / "sub" / "a.png"), str(d / "z.png")]


README = (Path(__file__).parents[2] / "README.md").read_text()


def test_readme_names_the_formats_and_extensions_the_code_has(tessera_bin, data_dir, tmp_path):
    """One list in src/io/format_table.hpp gives the 'not a supported image format' message and the
    extensions a directory is searched for (`build --help` lists them); the README names both."""
    extensions = re.search(r"with the extensions `([^`]+)`", README).group(1).split()
    assert run(tessera_bin, "build", "--help").stdout.splitlines()[-1].split() == extensions
    d = tmp_path / "train"
    d.mkdir()
    for ext in extensions:
        (d / f"x{ext}").write_bytes(b"not an image")
    (d / "y.HEIC").write_bytes(b"not an image")  # any case
    for ext in (".pam", ".txt", ".jxl"):  # not searched for
        (d / f"z{ext}").write_bytes(b"not an image")
    proc = run(tessera_bin, "build", "-q", "-o", tmp_path / "lib.tsr", data_dir / "coins.png", d)
    warned = re.findall(r"tessera: warning: (.+): not a supported image format \(([^)]+)\)",
                        proc.stderr)
    assert [Path(path).name for path, _ in warned] == sorted(
        [f"x{ext}" for ext in extensions] + ["y.HEIC"])
    formats = {listed for _, listed in warned}
    assert len(formats) == 1
    assert f"Formats: {formats.pop()}." in README


def test_build_summary_and_quiet(tessera_bin, sources, tmp_path):
    proc = run(tessera_bin, "build", "-o", tmp_path / "a.tsr", "--tile", 32, sources)
    assert re.fullmatch(r"tessera build: 3 sources used; skipped: 0 unreadable, 0 over "
                        r"--max-pixels, 0 too small; \d+ patches, .+ s -> .*a\.tsr\n",
                        proc.stderr), proc.stderr
    proc = run(tessera_bin, "build", "-q", "-o", tmp_path / "b.tsr", "--tile", 32, sources)
    assert proc.stderr == "" and proc.stdout == ""
    assert (tmp_path / "a.tsr").read_bytes() == (tmp_path / "b.tsr").read_bytes()



def counted(statuses, pattern):
    """The numbers in the statuses that match `pattern` (one group each), checking that they run
    in a row."""
    found = [i for i, line in enumerate(statuses) if re.fullmatch(pattern, line)]
    assert found and found == list(range(found[0], found[-1] + 1)), statuses
    return [int(re.fullmatch(pattern, statuses[i]).group(1)) for i in found]


def test_status_line_on_a_terminal(tessera_bin, sources, gray_library, data_dir, tmp_path):
    """On a terminal, one line, rewritten in place, names each phase and counts to the end; the
    summary replaces it, unchanged. Nothing at all with --quiet, or when stderr is not a
    terminal (the other tests)."""
    out = tmp_path / "lib.tsr"
    code, statuses, rest = run_on_terminal(tessera_bin, "build", "-o", out, "--tile", 32,
                                           "--threads", 2, sources)
    assert code == 0
    patches = int(re.search(r"; (\d+) patches", rest).group(1))
    assert statuses[0] == "build: finding images"
    assert counted(statuses, r"build: decoding (\d)/3 images, \d+ patches") == [0, 1, 2, 3]
    assert statuses[-3] == f"build: decoding 3/3 images, {patches} patches"
    assert statuses[-2:] == [f"build: building the search index of {patches} patches",
                             f"build: writing {out}"]
    assert re.fullmatch(r"tessera build: 3 sources used; .* -> .*lib\.tsr\n", rest), rest

    target, image = data_dir / "chelsea.png", tmp_path / "m.png"
    code, statuses, rest = run_on_terminal(tessera_bin, "mosaic", gray_library, target, "-o", image)
    assert code == 0
    assert statuses[:2] == [f"mosaic: checking {gray_library}", f"mosaic: decoding {target}"]
    tiles = counted(statuses, r"mosaic: matching (\d+)/551 tiles")  # 451x300: 29x19 tiles
    assert tiles[0] == 0 and tiles[-1] == 551 and tiles == sorted(set(tiles))
    assert statuses[-2:] == ["mosaic: rendering", f"mosaic: writing {image}"]
    assert re.fullmatch(r"tessera mosaic: 551 tiles of 16x16, .* -> .*m\.png\n", rest), rest

    # A line as wide as the terminal would wrap, and the next could not replace it: cut short.
    code, statuses, rest = run_on_terminal(tessera_bin, "mosaic", gray_library, target, "-o", image,
                                           columns=24)
    assert code == 0 and rest.startswith("tessera mosaic: 551 tiles")
    assert statuses[-1] == "mosaic: writing " + str(image)[:7]
    assert all(len(line) <= 23 for line in statuses), statuses

    # An error replaces the line too; a target too large for the output is refused before the
    # search.
    tall = tmp_path / "tall.png"
    Image.fromarray(noise(70000, 1, channels=1)).save(tall)
    code, statuses, rest = run_on_terminal(tessera_bin, "mosaic", gray_library, tall, "-o",
                                           tmp_path / "m.jpg")
    assert code == 1
    assert statuses == [f"mosaic: checking {gray_library}", f"mosaic: decoding {tall}"]
    assert rest.startswith("tessera: ") and "JPEG images are at most 65500 pixels" in rest

    for command in (["build", "-o", out, "--tile", 32, sources],
                    ["mosaic", gray_library, target, "-o", image]):
        assert run_on_terminal(tessera_bin, *command, "-q") == (0, [], "")


# ---- mosaic ----

def numpy_matches(lib, target, rows, tile):
    """The oracle in numpy for every row's tile: the lowest id at the minimum squared distance
    over the tile's visible part. Distances are |p|^2 - 2 p.t + |t|^2 in float64, exact: every
    term and sum is an integer below 2^53."""
    found = {}
    for (tw, th), (group, windows) in visible_tiles(rows, target, tile).items():
        patches = lib.patches[:, :th, :tw].reshape(len(lib.patches), -1).astype(np.float64)
        windows = windows.astype(np.float64)
        d = ((patches ** 2).sum(axis=1)[None, :] - 2 * windows @ patches.T +
             (windows ** 2).sum(axis=1)[:, None])
        d = np.rint(d).astype(np.int64)
        best = np.argmin(d, axis=1)  # the first minimum: ties go to the lowest id
        for r, b, row in zip(group, best, d):
            found[(r["row"], r["col"])] = (int(b), int(row[b]))
    return [found[(r["row"], r["col"])] for r in rows]


@pytest.fixture(scope="module")
def gray_mosaic(tessera_bin, gray_library, data_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("mosaic")
    proc = run(tessera_bin, "mosaic", gray_library, data_dir / "chelsea.png", "-o", d / "out.png",
               "--matches", d / "m.csv")
    quiet = run(tessera_bin, "mosaic", "-q", gray_library, data_dir / "chelsea.png", "-o",
                d / "out2.png", "--matches", d / "m.json")
    assert quiet.stderr == "" and quiet.stdout == ""
    return d, proc


def test_mosaic_matches_numpy_oracle(gray_library, gray_mosaic, data_dir):
    d, proc = gray_mosaic
    lib = read_library(gray_library)
    target = load(data_dir / "chelsea.png")  # 451x300: edge tiles 3 wide and 12 high
    rows = read_matches_csv(d / "m.csv")
    assert len(rows) == 29 * 19
    expected_cells = [(r, c) for r in range(19) for c in range(29)]
    assert [(r["row"], r["col"]) for r in rows] == expected_cells
    out = load(d / "out.png")
    assert out.shape == target.shape
    rebuilt = np.zeros_like(target)
    for r, oracle in zip(rows, numpy_matches(lib, target, rows, 16)):
        x, y = r["x"], r["y"]
        assert (x, y) == (16 * r["col"], 16 * r["row"])
        w, h = min(16, 451 - x), min(16, 300 - y)
        assert (r["patch"], r["distance"]) == oracle, r
        o = lib.origins[r["patch"]]
        assert r["source"] == lib.sources[o["source"]]["path"]
        assert (r["source_x"], r["source_y"]) == (o["x"], o["y"])
        assert r["transform"] == TRANSFORMS[o["transform"]]
        window = target[y : y + h, x : x + w].astype(np.int64)
        assert r["distance"] == ((lib.patches[r["patch"], :h, :w] - window) ** 2).sum()
        rebuilt[y : y + h, x : x + w] = lib.patches[r["patch"], :h, :w]
    np.testing.assert_array_equal(out, rebuilt)
    # The summary: tiles, seconds, PSNR.
    mse = ((out.astype(np.float64) - target) ** 2).mean()
    m = re.fullmatch(r"tessera mosaic: 551 tiles of 16x16, [\d.]+ s, PSNR ([\d.]+) dB -> .*out\.png\n",
                     proc.stderr)
    assert m, proc.stderr
    assert float(m.group(1)) == pytest.approx(10 * np.log10(255 ** 2 / mse), abs=0.006)


def test_matches_json_equals_csv(gray_mosaic):
    d, _ = gray_mosaic
    rows = read_matches_csv(d / "m.csv")
    data = json.loads((d / "m.json").read_text())
    assert data == rows
    assert (d / "out.png").read_bytes() == (d / "out2.png").read_bytes()


def test_threads_give_identical_results(tessera_bin, gray_library, data_dir, tmp_path):
    outputs = []
    for threads in (1, 2, 3, 0):
        run(tessera_bin, "mosaic", "-q", "--threads", threads, gray_library, data_dir / "astronaut.png",
            "-o", tmp_path / f"o{threads}.png", "--matches", tmp_path / f"m{threads}.csv")
        outputs.append(((tmp_path / f"o{threads}.png").read_bytes(),
                        (tmp_path / f"m{threads}.csv").read_text()))
    assert all(o == outputs[0] for o in outputs)


def test_build_threads_give_identical_libraries(tessera_bin, gray_library, sources, tmp_path):
    """Sources are decoded in parallel but added in path order: the file is the same bytes."""
    for threads in (1, 3):
        out = tmp_path / f"lib{threads}.tsr"
        run(tessera_bin, "build", "-q", "--threads", threads, "-o", out, "--tile", 16, "--stride",
            16, "--rotations", ROTATIONS, "--mode", "gray", sources)
        assert out.read_bytes() == gray_library.read_bytes()


def test_source_rebuilds_itself(tessera_bin, gray_library, sources, tmp_path):
    proc = run(tessera_bin, "mosaic", gray_library, sources / "b_coins.png", "-o", tmp_path / "o.png",
               "--matches", tmp_path / "m.csv")
    assert "PSNR inf dB" in proc.stderr
    assert all(r["distance"] == 0 for r in read_matches_csv(tmp_path / "m.csv"))
    np.testing.assert_array_equal(load(tmp_path / "o.png"), load(sources / "b_coins.png"))


@pytest.mark.parametrize("ext", [".jpg", ".webp"])
def test_lossy_output_psnr_is_of_the_file_written(tessera_bin, sources, tmp_path, ext):
    """A self-mosaic is perfect before encoding; the summary gives the PSNR of what the JPEG or
    WebP file holds, as read back."""
    target = sources / "c_chelsea.png"
    lib, out = tmp_path / "lib.tsr", tmp_path / f"o{ext}"
    run(tessera_bin, "build", "-q", "-o", lib, "--tile", 16, target)
    proc = run(tessera_bin, "mosaic", lib, target, "-o", out)
    m = re.fullmatch(r"tessera mosaic: 504 tiles of 16x16, [\d.]+ s, PSNR ([\d.]+) dB -> .*\n",
                     proc.stderr)
    assert m, proc.stderr
    with Image.open(out) as im:
        written = np.asarray(im.convert("RGB"), np.float64)
    mse = ((written - load(target, "RGB")) ** 2).mean()
    assert 0 < mse and float(m.group(1)) == pytest.approx(10 * np.log10(255**2 / mse), abs=0.006)


def test_quality_of_lossy_outputs(tessera_bin, gray_library, sources, tmp_path):
    """--quality sets the JPEG and WebP quality (default 90); a lossless output refuses it."""
    target = sources / "c_chelsea.png"
    run(tessera_bin, "mosaic", "-q", gray_library, target, "-o", tmp_path / "exact.png")
    exact = load(tmp_path / "exact.png").astype(np.float64)
    for ext in (".jpg", ".webp"):
        errors, sizes = [], []
        for quality in (50, 95):
            out = tmp_path / f"q{quality}{ext}"
            run(tessera_bin, "mosaic", "-q", gray_library, target, "-o", out, "--quality", quality)
            errors.append(((load(out) - exact) ** 2).mean())
            sizes.append(out.stat().st_size)
        assert errors[0] > errors[1] > 0 and sizes[0] < sizes[1], (ext, errors, sizes)
        run(tessera_bin, "mosaic", "-q", gray_library, target, "-o", tmp_path / f"d{ext}")
        run(tessera_bin, "mosaic", "-q", gray_library, target, "-o", tmp_path / f"q90{ext}",
            "--quality", 90)
        assert (tmp_path / f"d{ext}").read_bytes() == (tmp_path / f"q90{ext}").read_bytes()
    for args, message in (([".png", "--quality", 80], "--quality is for .jpg and .webp outputs"),
                          ([".jpg", "--quality", 0], "'0' is not a whole number from 1 to 100"),
                          ([".jpg", "--quality", "high"], "'high' is not a whole number"),
                          ([".jpg", "--quality", 101], "'101' is not a whole number")):
        out = tmp_path / f"bad{args[0]}"
        assert_failed(run(tessera_bin, "mosaic", gray_library, target, "-o", out, *args[1:],
                          check=False), message, code=2)
        assert not out.exists()


def test_build_summary_counts(tessera_bin, data_dir, tmp_path):
    """Singular and plural, and images over --max-pixels counted apart from unreadable ones."""
    d = tmp_path / "d"
    d.mkdir()
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(d / "a.png")
    shutil.copy(data_dir / "coins.png", d / "b.png")  # 384x303
    (d / "c.png").write_bytes(b"not a png")
    proc = run(tessera_bin, "build", "-o", tmp_path / "lib.tsr", "--max-pixels", 1000, d)
    assert re.fullmatch(r"(tessera: warning: .*\n){2}tessera build: 1 source used; skipped: 1 "
                        r"unreadable, 1 over --max-pixels, 0 too small; 1 patch, .*\n",
                        proc.stderr), proc.stderr
    proc = run(tessera_bin, "mosaic", tmp_path / "lib.tsr", d / "a.png", "-o", tmp_path / "o.png")
    assert proc.stderr.startswith("tessera mosaic: 1 tile of 16x16, "), proc.stderr


def test_rgb_library_and_gray_target(tessera_bin, sources, data_dir, tmp_path):
    """The target is converted to the library's mode; the output has the library's mode."""
    lib = tmp_path / "rgb.tsr"
    run(tessera_bin, "build", "-q", "-o", lib, "--tile", 8, "--mode", "rgb", sources / "c_chelsea.png")
    run(tessera_bin, "mosaic", "-q", lib, data_dir / "coins.png", "-o", tmp_path / "o.png",
        "--matches", tmp_path / "m.csv")
    with Image.open(tmp_path / "o.png") as im:
        assert im.mode == "RGB" and im.size == (384, 303)
    # A gray target in an RGB library: each pixel (v, v, v).
    target = np.repeat(load(data_dir / "coins.png")[..., None], 3, axis=2)
    rows = read_matches_csv(tmp_path / "m.csv")
    assert len(rows) == 48 * 38
    for r, oracle in zip(rows, numpy_matches(read_library(lib), target, rows, 8)):
        assert (r["patch"], r["distance"]) == oracle, r


# WebP has no gray mode: PIL reads it back as RGB.
@pytest.mark.parametrize("ext, mode", [(".png", "L"), (".tif", "L"), (".webp", "RGB"), (".pgm", "L"),
                                       (".jpg", "L")])
def test_output_format_from_extension(tessera_bin, gray_library, sources, tmp_path, ext, mode):
    out = tmp_path / ("o" + ext)
    run(tessera_bin, "mosaic", "-q", gray_library, sources / "b_coins.png", "-o", out)
    with Image.open(out) as im:
        assert im.mode == mode and im.size == (384, 288)
        if ext not in (".jpg", ".webp"):  # lossless formats give the exact pixels back
            np.testing.assert_array_equal(np.asarray(im), load(sources / "b_coins.png"))
    assert files_in(tmp_path) == ["o" + ext]


def test_gray_conversion_equals_pil(tessera_bin, data_dir, tmp_path):
    """A 1x1 gray library holding every level rebuilds any target exactly as tessera converts it,
    which must be PIL's convert('L')."""
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(levels, "L").save(tmp_path / "levels.png")
    lib = tmp_path / "levels.tsr"
    run(tessera_bin, "build", "-q", "-o", lib, "--tile", 1, "--mode", "gray", tmp_path / "levels.png")
    Image.fromarray(noise(64, 96, seed=5), "RGB").save(tmp_path / "noise.png")
    targets = [tmp_path / "noise.png", data_dir / "astronaut.png", data_dir / "coffee.png",
               data_dir / "horse.png"]  # horse is RGBA: alpha is dropped, as PIL does
    for target in targets:
        out = tmp_path / (target.stem + "-gray.png")
        run(tessera_bin, "mosaic", "-q", lib, target, "-o", out)
        np.testing.assert_array_equal(load(out), load(target, "L"), err_msg=str(target))


# ---- errors: one line, exit 1 (2 for usage), nothing written ----

@pytest.fixture
def workdir(tmp_path, data_dir):
    """An output directory holding only a valid library and a target; errors must leave it so."""
    shutil.copy(data_dir / "coins.png", tmp_path / "target.png")
    return tmp_path


def expect_failure(tessera_bin, directory, args, *parts, code=1):
    before = files_in(directory)
    line = assert_failed(run(tessera_bin, *args, check=False), *parts, code=code)
    assert files_in(directory) == before, "output or temporary files left behind"
    return line


@pytest.fixture
def small_library(tessera_bin, workdir, sources):
    lib = workdir / "lib.tsr"
    run(tessera_bin, "build", "-q", "-o", lib, "--tile", 16, "--mode", "gray", sources / "b_coins.png")
    return lib


@pytest.fixture
def corrupt_images(tmp_path, data_dir):
    """A directory with one good image and two that cannot be decoded."""
    d = tmp_path / "imgs"
    d.mkdir()
    shutil.copy(data_dir / "coins.png", d / "good.png")
    (d / "garbage.png").write_bytes(b"this is not an image at all")
    png = (data_dir / "horse.png").read_bytes()
    (d / "truncated.png").write_bytes(png[: len(png) // 2])
    return d


@pytest.mark.parametrize("name", ["garbage.png", "truncated.png"])
def test_error_unreadable_image_named_explicitly(tessera_bin, corrupt_images, workdir, small_library,
                                                 name):
    expect_failure(tessera_bin, workdir, ["build", "-o", workdir / "x.tsr", corrupt_images / "good.png",
                                          corrupt_images / name], str(corrupt_images / name))
    expect_failure(tessera_bin, workdir, ["mosaic", "-o", workdir / "o.png", small_library,
                                          corrupt_images / name], str(corrupt_images / name))


def test_unreadable_directory_is_reported(tessera_bin, data_dir):
    """A subdirectory that cannot be read is warned about and counted (an error under --strict),
    not silently left out; one named explicitly is an error saying why. Root reads everything, so
    as root tessera runs as nobody, in a directory nobody can use."""
    as_nobody = os.geteuid() == 0
    work = Path(tempfile.mkdtemp())
    try:
        work.chmod(0o777)
        shutil.copy(data_dir / "coins.png", work / "a.png")
        (work / "locked").mkdir()
        shutil.copy(data_dir / "brick.png", work / "locked" / "b.png")
        (work / "locked").chmod(0)
        drop = (lambda: (os.setgid(65534), os.setuid(65534))) if as_nobody else None
        if run(tessera_bin, "--version", check=False, preexec_fn=drop).returncode != 0:
            pytest.skip("nobody cannot run the tessera binary here")
        proc = run(tessera_bin, "build", "-o", "lib.tsr", ".", cwd=work, preexec_fn=drop)
        assert proc.stderr.startswith("tessera: warning: ./locked: cannot read directory: "
                                      "Permission denied; skipped\ntessera build: 1 source used; "
                                      "skipped: 1 unreadable,"), proc.stderr
        assert_failed(run(tessera_bin, "build", "--strict", "-o", "x.tsr", ".", cwd=work,
                          check=False, preexec_fn=drop),
                      "./locked: cannot read directory: Permission denied")
        assert_failed(run(tessera_bin, "build", "-o", "x.tsr", "locked", cwd=work, check=False,
                          preexec_fn=drop), "locked: cannot read directory: Permission denied")
        assert not (work / "x.tsr").exists()
    finally:
        (work / "locked").chmod(0o755)
        shutil.rmtree(work)


def test_unreadable_image_in_directory_is_skipped(tessera_bin, corrupt_images, workdir):
    out = workdir / "x.tsr"
    proc = run(tessera_bin, "build", "-o", out, "--tile", 16, corrupt_images)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 3, proc.stderr
    assert lines[0].startswith("tessera: warning: ") and "garbage.png" in lines[0] and "skipped" in lines[0]
    assert lines[1].startswith("tessera: warning: ") and "truncated.png" in lines[1]
    assert "1 source used; skipped: 2 unreadable, 0 over --max-pixels, 0 too small; " in lines[2]
    assert "sources     1" in run(tessera_bin, "info", out).stdout
    out.unlink()
    expect_failure(tessera_bin, workdir, ["build", "--strict", "-o", out, corrupt_images], "garbage.png")


def test_error_tile_larger_than_every_source(tessera_bin, workdir, data_dir):
    proc = run(tessera_bin, "build", "-o", workdir / "x.tsr", "--tile", 128, workdir / "target.png",
               check=False)
    assert proc.returncode == 0  # coins is 384x303: the tile fits
    (workdir / "x.tsr").unlink()
    small = workdir / "small.png"
    with Image.open(data_dir / "coins.png") as im:
        im.crop((0, 0, 100, 60)).save(small)
    before = files_in(workdir)
    proc = run(tessera_bin, "build", "-o", workdir / "y.tsr", "--tile", "64x64", small, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("tessera: no patches")
    assert "64x64" in proc.stderr
    assert files_in(workdir) == before
    expect_failure(tessera_bin, workdir, ["build", "--strict", "-o", workdir / "y.tsr", "--tile", 64, small],
                   "small.png", "smaller than the tile 64x64")


def test_matches_quote_awkward_source_names(tessera_bin, data_dir, tmp_path):
    name = tmp_path / 'a "quoted", name\non two lines\r.png'
    shutil.copy(data_dir / "coins.png", name)
    lib = tmp_path / "lib.tsr"
    run(tessera_bin, "build", "-q", "-o", lib, "--tile", 32, "--mode", "gray", name)
    run(tessera_bin, "mosaic", "-q", lib, name, "-o", tmp_path / "o.png", "--matches", tmp_path / "m.csv")
    run(tessera_bin, "mosaic", "-q", lib, name, "-o", tmp_path / "o.png", "--matches", tmp_path / "m.json")
    rows = read_matches_csv(tmp_path / "m.csv")
    assert {r["source"] for r in rows} == {str(name)}
    assert json.loads((tmp_path / "m.json").read_text()) == rows


def test_matches_of_a_source_name_that_is_not_utf8(tessera_bin, data_dir, tmp_path):
    """File names are bytes: the CSV keeps them; JSON, which is UTF-8, gets U+FFFD for each bad
    byte instead of failing (after writing the image) with a message naming no file."""
    (tmp_path / "src").mkdir()
    shutil.copy(data_dir / "coins.png", tmp_path / "src" / os.fsdecode(b"caf\xe9.png"))
    lib = tmp_path / "lib.tsr"
    run(tessera_bin, "build", "-q", "-o", lib, "--tile", 32, "--mode", "gray", tmp_path / "src")
    run(tessera_bin, "mosaic", "-q", lib, data_dir / "coins.png", "-o", tmp_path / "o.png",
        "--matches", tmp_path / "m.json")
    rows = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert {r["source"] for r in rows} == {str(tmp_path / "src" / "caf\ufffd.png")}
    run(tessera_bin, "mosaic", "-q", lib, data_dir / "coins.png", "-o", tmp_path / "o.png",
        "--matches", tmp_path / "m.csv")
    assert b'"' + os.fsencode(tmp_path / "src") + b'/caf\xe9.png"' in (tmp_path / "m.csv").read_bytes()


def test_matches_extension_in_any_case(tessera_bin, small_library, workdir):
    for name in ("M.CSV", "M.Json"):
        run(tessera_bin, "mosaic", "-q", small_library, workdir / "target.png", "-o",
            workdir / "o.PNG", "--matches", workdir / name)
    assert read_matches_csv(workdir / "M.CSV") == json.loads((workdir / "M.Json").read_text())


def info_lines(tessera_bin, library):
    return dict(line.split(None, 1) for line in run(tessera_bin, "info", library).stdout.splitlines())


def test_rotations_take_one_comma_separated_list(tessera_bin, data_dir, tmp_path):
    """--rotations takes the one argument after it: the inputs that follow stay inputs, even
    one named like an angle; repeating the option adds to the list."""
    coins, horse = data_dir / "coins.png", data_dir / "horse.png"
    run(tessera_bin, "build", "-q", "-o", tmp_path / "a.tsr", "--rotations", "0,90", coins, horse)
    info = info_lines(tessera_bin, tmp_path / "a.tsr")
    assert (info["transforms"], info["sources"]) == ("rot0 rot90", "2")
    (tmp_path / "180").mkdir()  # a directory named like an angle is an input, not an angle
    shutil.copy(coins, tmp_path / "180" / "coins.png")
    run(tessera_bin, "build", "-q", "-o", "b.tsr", "--rotations", "0", "180", horse, cwd=tmp_path)
    info = info_lines(tessera_bin, tmp_path / "b.tsr")
    assert (info["transforms"], info["sources"]) == ("rot0", "2")
    run(tessera_bin, "build", "-q", "-o", tmp_path / "c.tsr", "--rotations", "0", "--rotations",
        "90,180", horse)
    assert info_lines(tessera_bin, tmp_path / "c.tsr")["transforms"] == "rot0 rot90 rot180"
    # Space-separated angles are not a list: the second is an input, which does not exist.
    before = files_in(tmp_path)
    assert_failed(run(tessera_bin, "build", "-o", "d.tsr", "--rotations", "0", "90", horse,
                      cwd=tmp_path, check=False),
                  "90: no such file or directory", "--rotations 0,90", code=2)
    assert files_in(tmp_path) == before


@pytest.mark.parametrize("mode, wrong, right", [("rgb", ".pgm", ".ppm"), ("gray", ".PPM", ".pgm")])
def test_pnm_output_extension_must_match_the_library_mode(tessera_bin, data_dir, tmp_path, mode,
                                                          wrong, right):
    """The output has the library's mode: an extension that would convert it is refused before
    any work; .pnm takes either."""
    lib = tmp_path / "lib.tsr"
    run(tessera_bin, "build", "-q", "-o", lib, "--tile", 16, "--mode", mode, data_dir / "coins.png")
    before = files_in(tmp_path)
    assert_failed(run(tessera_bin, "mosaic", lib, data_dir / "coins.png", "-o", tmp_path / ("o" + wrong),
                      "--matches", tmp_path / "m.csv", check=False),
                  "o" + wrong, f"the image is {mode}; use {right} (or .pnm)")
    assert files_in(tmp_path) == before
    for ext in (right, ".pnm"):
        run(tessera_bin, "mosaic", "-q", lib, data_dir / "coins.png", "-o", tmp_path / ("o" + ext))
        with Image.open(tmp_path / ("o" + ext)) as im:
            assert im.mode == ("RGB" if mode == "rgb" else "L")
