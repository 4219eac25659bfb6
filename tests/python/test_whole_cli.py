"""`tessera build --whole` and posters (`mosaic --grid`, render sizes): whole-photo tiles against
PIL's resize, EXIF orientation, photos shrunk on load (their tiles and peak memory), corrupt
photos, each poster cell equal to the stored render pixels, and the errors (one line, exit 1 or 2,
nothing written)."""

import os

import numpy as np
import pytest
from PIL import Image, ImageOps

from tessera_testing import assert_failed, read_library, read_matches_csv, run

TILE, RENDER = 16, 40


def smooth(width, height, seed):
    """A smooth photo-like image (a gradient with a few blobs): resamplers agree closely on it."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    channels = [np.sin(x * rng.uniform(2, 6) + y * rng.uniform(1, 4) + rng.uniform(0, 6))
                for _ in range(3)]
    return Image.fromarray(((np.stack(channels, -1) + 1) * 127.5).astype(np.uint8))


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("whole") / "photos"
    d.mkdir()
    smooth(300, 200, 1).save(d / "a_wide.png")
    smooth(150, 400, 2).save(d / "b_tall.png")
    smooth(9, 7, 3).save(d / "c_tiny.png")  # smaller than the tile: upsampled, not skipped
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    smooth(240, 160, 4).save(d / "d_exif.jpg", quality=98, exif=exif)
    return d


def reference(path, size, fit):
    """PIL's view of a whole photo at `size`: EXIF applied, Lanczos, centre crop or letterbox."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        if fit == "crop":
            im = ImageOps.fit(im, size, Image.LANCZOS)
        elif fit == "stretch":
            im = im.resize(size, Image.LANCZOS)
        else:
            im = ImageOps.pad(im, size, Image.LANCZOS, color=(0, 0, 0))
        return np.asarray(im, dtype=np.int16)


@pytest.mark.parametrize("fit", ["crop", "pad", "stretch"])
def test_whole_tiles_match_a_reference_resize(tessera_bin, photos, tmp_path, fit):
    lib = tmp_path / "p.tsr"
    run(tessera_bin, "build", "-o", lib, "--whole", "--tile", TILE, "--render", RENDER, "--fit",
        fit, "--threads", 2, photos)
    f = read_library(lib)
    assert f.kind == 1 and f.render == (RENDER, RENDER) and f.fit == ["crop", "pad", "stretch"].index(fit)
    assert len(f.sources) == 4 and len(f.patches) == 4
    for i, name in enumerate(sorted(os.listdir(photos))):
        assert f.sources[i]["path"].endswith(name)
        assert (f.origins[i]["x"], f.origins[i]["y"]) == (0, 0)
        for size, got in ((TILE, f.patches[i]), (RENDER, f.render_patches[i])):
            want = reference(photos / name, (size, size), fit)
            diff = np.abs(got.astype(np.int16) - want)
            if name == "c_tiny.png":
                # Upsampled, libvips places its samples about half a source pixel away from
                # PIL's (a 9-pixel gradient then differs by up to 14 levels on average): only
                # checked to hold the photo's values, not black or a crop of one corner.
                if fit != "pad":
                    source = np.asarray(Image.open(photos / name).convert("RGB"), np.int16)
                    assert np.all(got.min((0, 1)) >= source.min((0, 1)) - 8)
                    assert np.all(got.max((0, 1)) <= source.max((0, 1)) + 8)
                    assert np.all(got.std((0, 1)) > 0.5 * source.std((0, 1)))
                continue
            # Downsampled, libvips (box shrink, then Lanczos-3) against PIL's Lanczos-3 on smooth
            # photos: measured mean <= 2.6 and max <= 5 levels.
            assert diff.mean() < 3, (name, size, diff.mean())
            assert diff.max() <= 8, (name, size)
    # The EXIF photo was turned: its stored source size is the displayed one.
    assert (f.sources[3]["width"], f.sources[3]["height"]) == (160, 240)


@pytest.fixture(scope="module")
def large_photos(tmp_path_factory, data_dir):
    """Photos that build --whole decodes shrunk on load (ratio 50 or more to RENDER: JPEG by 8,
    WebP by 32): a 3000x2000 JPEG, the same turned by EXIF, and a WebP."""
    d = tmp_path_factory.mktemp("large")
    with Image.open(data_dir / "chelsea.png") as im:
        big = im.convert("RGB").resize((3000, 2000), Image.LANCZOS)
    big.save(d / "a_large.jpg", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6
    big.save(d / "b_exif.jpg", quality=90, exif=exif)
    big.save(d / "c_large.webp", quality=90)
    return d


@pytest.mark.parametrize("fit", ["crop", "pad", "stretch"])
def test_photos_shrunk_on_load_match_a_reference_resize(tessera_bin, large_photos, tmp_path, fit):
    """Shrunk on load (libjpeg's DCT scaling, libwebp's rescaler) and then resampled, a photo's
    tiles stay as close to PIL's Lanczos of the whole decoded photo as the whole photo resampled
    was: measured mean <= 0.82 and max <= 6 levels (decoded whole: mean <= 1.41, max <= 13, the
    padded ones off by a rounding row). Padded, the photo keeps its own aspect ratio, not its
    shrunk size's (94x62 for the WebP)."""
    lib = tmp_path / "p.tsr"
    run(tessera_bin, "build", "-q", "-o", lib, "--whole", "--tile", TILE, "--render", RENDER,
        "--fit", fit, "--threads", 2, large_photos)
    f = read_library(lib)
    for i, name in enumerate(sorted(os.listdir(large_photos))):
        for size, got in ((TILE, f.patches[i]), (RENDER, f.render_patches[i])):
            diff = np.abs(got.astype(np.int16) - reference(large_photos / name, (size, size), fit))
            assert diff.mean() < 1.5, (name, size, diff.mean())
            assert diff.max() <= 8, (name, size, diff.max())
    # The sources keep the photos' own (displayed) sizes, not the shrunk ones.
    sizes = [(s["width"], s["height"]) for s in f.sources]
    assert sizes == [(3000, 2000), (2000, 3000), (3000, 2000)]


def test_corrupt_photo_skipped_and_counted(tessera_bin, photos, tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    smooth(50, 50, 5).save(d / "ok.png")
    proc = run(tessera_bin, "build", "-o", tmp_path / "m.tsr", "--whole", d)
    assert "broken.jpg" in proc.stderr and "1 unreadable" in proc.stderr
    assert len(read_library(tmp_path / "m.tsr").patches) == 1
    only = tmp_path / "only_broken"
    only.mkdir()
    (only / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    out = tmp_path / "none.tsr"
    proc = run(tessera_bin, "build", "-o", out, "--whole", only, check=False)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]  # after the file's own warning
    assert last.startswith("tessera: no patches: 1 file could not be read"), proc.stderr
    assert not out.exists()


def test_poster_cells_are_the_stored_render_pixels(tessera_bin, photos, tmp_path, data_dir):
    lib = tmp_path / "p.tsr"
    run(tessera_bin, "build", "-o", lib, "--whole", "--tile", TILE, "--render", RENDER,
        "--rotations", "0,180", photos, data_dir / "coffee.png", data_dir / "rocket.jpg")
    f = read_library(lib)
    out, rows = tmp_path / "poster.png", tmp_path / "cells.csv"
    run(tessera_bin, "mosaic", lib, data_dir / "astronaut.png", "-o", out, "--grid", "13",
        "--matches", rows)
    poster = np.asarray(Image.open(out))
    assert poster.shape == (13 * RENDER, 13 * RENDER, 3)  # a square target: 13 rows
    matches = read_matches_csv(rows)
    assert len(matches) == 13 * 13
    for m in matches:
        r, c, patch = int(m["row"]), int(m["col"]), int(m["patch"])
        cell = poster[r * RENDER:(r + 1) * RENDER, c * RENDER:(c + 1) * RENDER]
        assert np.array_equal(cell, f.render_patches[patch])
        assert m["source"] == f.sources[f.origins[patch]["source"]]["path"]
        assert (int(m["source_x"]), int(m["source_y"])) == (0, 0)
    # Rendered at the tile size on request: the same cells at match size.
    small = tmp_path / "small.png"
    run(tessera_bin, "mosaic", lib, data_dir / "astronaut.png", "-o", small, "--grid", "13x7",
        "--render-size", TILE)
    assert np.asarray(Image.open(small)).shape == (7 * TILE, 13 * TILE, 3)


def test_grid_rows_follow_the_aspect_ratio(tessera_bin, photos, tmp_path, data_dir):
    lib = tmp_path / "p.tsr"
    run(tessera_bin, "build", "-o", lib, "--whole", "--tile", "16x8", "--render", "24x12", photos)
    out = tmp_path / "o.png"
    # chelsea.png is 451x300: rows = round(10 * 16 * 300 / (451 * 8)) = 13
    run(tessera_bin, "mosaic", lib, data_dir / "chelsea.png", "-o", out, "--grid", 10)
    assert Image.open(out).size == (10 * 24, 13 * 12)


@pytest.mark.parametrize("args,fragment,code", [
    (["build", "--whole", "--tile", "16", "--render", "8"], "smaller than the tile", 2),
    (["build", "--whole", "--stride", "8"], "--stride cuts windows", 2),
    (["build", "--render", "32"], "add --whole", 2),
])
def test_build_errors(tessera_bin, photos, tmp_path, args, fragment, code):
    out = tmp_path / "x.tsr"
    proc = run(tessera_bin, args[0], "-o", out, *args[1:], photos, check=False)
    assert_failed(proc, fragment, code=code)
    assert not out.exists()


@pytest.mark.parametrize("args,fragment,code", [
    (["--grid", "0"], "--grid 0", 2),
    (["--grid", "10x0"], "--grid 10x0", 2),
    (["--grid", "ten"], "--grid ten", 2),
    (["--render-size", "8"], "--render-size 8x8 is out of range", 2),
    (["--render-size", "64"], "--render-size 64x64 is out of range", 2),
    (["--grid", "2000x1"], "65500", 1),  # a JPEG side holds at most 65500 pixels
])
def test_mosaic_errors(tessera_bin, photos, tmp_path, data_dir, args, fragment, code):
    lib = tmp_path / "p.tsr"
    run(tessera_bin, "build", "-o", lib, "--whole", "--tile", TILE, "--render", RENDER, photos)
    out = tmp_path / "poster.jpg"
    proc = run(tessera_bin, "mosaic", lib, data_dir / "astronaut.png", "-o", out, *args,
               check=False)
    assert_failed(proc, fragment, code=code)
    assert not out.exists()


def test_info_shows_kind_and_render_size(tessera_bin, photos, tmp_path):
    lib = tmp_path / "p.tsr"
    run(tessera_bin, "build", "-o", lib, "--whole", "--tile", TILE, "--render", RENDER, "--fit",
        "pad", photos)
    out = run(tessera_bin, "info", lib).stdout
    assert "kind        whole photos" in out and "render      40x40" in out
    assert "fit         pad" in out and "format      4" in out


def peak_rss_bytes(*args):
    """Runs tessera under GNU time (Debian's `time`); returns its peak resident memory, the
    kernel's count (no timing). Not measured from here: a child forked from pytest would count
    pytest's own memory before it runs tessera."""
    import subprocess
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *[str(a) for a in args]],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stderr.strip().splitlines()[-1]) * 1024


@pytest.mark.parametrize("ext", ["jpg", "png", "tif"])
def test_poster_memory_does_not_grow_with_its_size(tessera_bin, photos, tmp_path, data_dir, ext):
    """The same grid rendered at 17 and at 96 pixels a cell: the poster is 32 times larger (4.3
    megapixels, 12.9 MB of RGB), and is encoded strip by strip, so the peaks differ by less than a
    third of it (what grows with the grid, the target at the match size, is the same in both;
    rendered in memory, the larger poster alone would add all of it)."""
    lib = tmp_path / "p.tsr"
    run(tessera_bin, "build", "-o", lib, "--whole", "--tile", TILE, "--render", 96, photos)
    peaks = {}
    for size in (17, 96):
        out = tmp_path / f"poster{size}.{ext}"
        peaks[size] = peak_rss_bytes(tessera_bin, "mosaic", lib, data_dir / "astronaut.png", "-o",
                                     out, "--grid", "26x18", "--render-size", size, "-q")
        with Image.open(out) as im:
            assert im.size == (26 * size, 18 * size)
    poster_bytes = 26 * 96 * 18 * 96 * 3
    # Measured: +0.6 MB (JPEG), 0 (PNG), +3.4 MB (TIFF, libtiff's buffers); whole, +12.9 MB.
    assert peaks[96] - peaks[17] < poster_bytes / 3, peaks


def test_large_jpegs_are_decoded_shrunk_on_load(tessera_bin, tmp_path):
    """build --whole's memory follows the library's sizes, not the photos': three 6000x4000
    JPEGs (72 MB each decoded) on two threads peak 13.6 MB above the same build of 600x400 ones
    (measured: the two files being read, mapped, and their 750x500 decodes); decoded whole, they
    peaked 170 MB above it."""
    rng = np.random.default_rng(24)
    small = Image.fromarray(rng.integers(0, 256, (400, 600, 3), dtype=np.uint8))
    peaks = {}
    for name, photo in (("small", small), ("large", small.resize((6000, 4000), Image.BILINEAR))):
        folder = tmp_path / name
        folder.mkdir()
        photo.save(folder / "0.jpg", quality=90)
        for i in (1, 2):
            (folder / f"{i}.jpg").write_bytes((folder / "0.jpg").read_bytes())
        peaks[name] = peak_rss_bytes(tessera_bin, "build", "-q", "-o", tmp_path / f"{name}.tsr",
                                     "--whole", "--tile", TILE, "--render", 64, "--threads", 2,
                                     folder)
    assert peaks["large"] - peaks["small"] < 6000 * 4000 * 3 / 3, peaks


def test_many_photos_resampled_on_two_threads_do_not_corrupt_memory(tessera_bin, data_dir, tmp_path):
    """libvips's liborc programs, freed by resamplers on several threads at once, corrupted the
    heap: 1,500 small JPEGs built with --whole on 2 threads aborted or crashed in 5 of 6 runs."""
    rng = np.random.default_rng(14)
    sources = [np.asarray(Image.open(data_dir / name).convert("RGB"))
               for name in ("coffee.png", "chelsea.png", "rocket.jpg", "astronaut.png")]
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(1500):
        source = sources[i % len(sources)]
        y = int(rng.integers(0, source.shape[0] - 128))
        x = int(rng.integers(0, source.shape[1] - 128))
        Image.fromarray(source[y:y + 128, x:x + 128]).save(folder / f"{i:04d}.jpg", quality=80)
    for attempt in range(2):
        built = run(tessera_bin, "build", "-q", "-o", str(tmp_path / "p.tsr"), "--whole",
                    "--tile", "8", "--render", "32", "--threads", "2", str(folder), check=False)
        assert built.returncode == 0, (attempt, built.returncode, built.stderr)
    assert len(read_library(tmp_path / "p.tsr").origins) == 1500
