"""Decoding as the issue asks: PNG, JPEG, BMP, PGM/PPM, TIFF, WebP, and HEIF; EXIF orientation
honoured; alpha dropped; palettes expanded; 16-bit reduced to 8. A 1x1 gray library holding all 256
levels rebuilds any target exactly as tessera decoded and converted it, so the mosaic shows the
decoded pixels."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tessera_testing import load, read_matches_csv, run


@pytest.fixture(scope="module")
def levels_library(tmp_path_factory, tessera_bin):
    d = tmp_path_factory.mktemp("levels")
    Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16), "L").save(d / "levels.png")
    run(tessera_bin, "build", "-q", "-o", d / "levels.tsr", "--tile", 1, "--mode", "gray",
        d / "levels.png")
    return d / "levels.tsr"


@pytest.fixture(scope="module")
def picture(data_dir):
    """A small colour picture, 90 wide and 60 high: not square, so rotations show."""
    with Image.open(data_dir / "chelsea.png") as im:
        return im.convert("RGB").crop((150, 80, 240, 140))


def decoded(tessera_bin, library, path, tmp_path):
    """What tessera decodes from `path`, in gray, as a numpy array."""
    out = tmp_path / (path.name + ".out.png")
    run(tessera_bin, "mosaic", "-q", library, path, "-o", out, "--matches", tmp_path / "m.csv")
    assert all(r["distance"] == 0 for r in read_matches_csv(tmp_path / "m.csv"))
    return load(out)


@pytest.mark.parametrize("name, save", [
    ("rgb.png", {}),
    ("rgb.bmp", {}),
    ("rgb.ppm", {}),
    ("rgb.tif", {}),
    ("rgb.webp", {"lossless": True}),
])
def test_lossless_colour_formats(tessera_bin, levels_library, picture, tmp_path, name, save):
    path = tmp_path / name
    picture.save(path, **save)
    np.testing.assert_array_equal(decoded(tessera_bin, levels_library, path, tmp_path),
                                  np.asarray(picture.convert("L")))


@pytest.mark.parametrize("mode, name", [("L", "gray.pgm"), ("L", "gray.png"), ("P", "palette.png"),
                                        ("RGBA", "alpha.png"), ("LA", "gray-alpha.png"),
                                        ("L", "gray.jpg")])
def test_other_layouts(tessera_bin, levels_library, picture, tmp_path, mode, name):
    """Gray, palette and alpha images; alpha is dropped (not blended), as PIL's convert('L')
    does. A gray JPEG has no chroma to resample, so its decode is exact too."""
    image = picture.convert(mode)
    if mode in ("RGBA", "LA"):
        image.putalpha(Image.fromarray(np.tile(np.arange(90, dtype=np.uint8), (60, 1))))
    path = tmp_path / name
    image.save(path)
    with Image.open(path) as written:
        expected = np.asarray(written.convert("L"))
    np.testing.assert_array_equal(decoded(tessera_bin, levels_library, path, tmp_path), expected)


def test_sixteen_bit_reduced_to_eight(tessera_bin, levels_library, picture, tmp_path):
    gray = np.asarray(picture.convert("L"))
    path = tmp_path / "gray16.png"
    Image.fromarray(gray.astype(np.uint16) * 257).save(path)  # 16-bit PNG, v * 257 is v in 8 bits
    with Image.open(path) as im:
        assert im.mode.startswith("I")
    np.testing.assert_array_equal(decoded(tessera_bin, levels_library, path, tmp_path), gray)


# EXIF orientation: how the stored pixels must be turned for display (numpy rot90 counts
# counter-clockwise quarter turns).
ORIENTATIONS = {1: lambda a: a, 3: lambda a: np.rot90(a, 2), 6: lambda a: np.rot90(a, -1),
                8: lambda a: np.rot90(a, 1), 2: np.fliplr, 4: np.flipud}


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif"])
def test_exif_orientation(tessera_bin, levels_library, picture, tmp_path, orientation, ext):
    exif = Image.Exif()
    exif[0x0112] = orientation
    gray = picture.convert("L")
    path = tmp_path / ("oriented" + ext)
    gray.save(path, exif=exif, **({"quality": 100} if ext == ".jpg" else {}))
    # The pixels as stored: what was written, or for JPEG what PIL decodes (it does not turn
    # JPEGs; it does turn TIFFs when it reads them, so TIFFs are not read back here).
    stored = np.asarray(gray)
    if ext == ".jpg":
        with Image.open(path) as im:
            stored = np.asarray(im)
    np.testing.assert_array_equal(decoded(tessera_bin, levels_library, path, tmp_path),
                                  ORIENTATIONS[orientation](stored))


@pytest.mark.parametrize("name", ["chelsea.heic", "chelsea.avif"])
def test_heif(tessera_bin, levels_library, data_dir, tmp_path, name):
    """HEIF (HEVC) and AVIF (AV1), both lossy, go through libvips's libheif module, which is
    opened only when a file needs it: data/chelsea.heic and .avif are chelsea.png's 48x32 window
    at (150, 80), encoded by libvips; they decode close to that window."""
    got = decoded(tessera_bin, levels_library, data_dir / name, tmp_path)
    with Image.open(data_dir / "chelsea.png") as im:
        expected = np.asarray(im.convert("L").crop((150, 80, 198, 112)))
    assert got.shape == expected.shape
    assert np.abs(got.astype(int) - expected).max() <= 2


@pytest.mark.parametrize("name, modules", [("gray.png", []), ("rgb.bmp", ["vips-magick.so"]),
                                           ("chelsea.heic", ["vips-heif.so"])])
def test_cli_opens_only_the_libvips_modules_a_file_needs(tessera_bin, levels_library, picture,
                                                         data_dir, tmp_path, name, modules):
    """libvips's modules (ImageMagick, libheif, poppler, ...) cost 30-40 ms of every run, so the
    CLI opens one only when a file needs it: the dynamic loader's log lists what was opened."""
    path = data_dir / name if name.endswith(".heic") else tmp_path / name
    if not path.exists():
        picture.save(path)
    proc = run(tessera_bin, "mosaic", "-q", levels_library, path, "-o", tmp_path / "out.png",
               env={"LD_DEBUG": "files", "VIPSHOME": None})
    opened = sorted(set(re.findall(r"file=\S*/vips-modules-[\d.]+/(\S+?\.so)", proc.stderr)))
    assert opened == modules


def test_parallel_bmp_decodes_beyond_openmps_thread_count(tessera_bin, picture, tmp_path):
    """ImageMagick (BMP) sizes per-thread caches by OpenMP's thread count and aborted the
    process when build decoded with more threads than that (OMP_NUM_THREADS=1, --threads 3)."""
    d = tmp_path / "bmps"
    d.mkdir()
    for i in range(6):
        picture.rotate(90 * i, expand=True).save(d / f"{i}.bmp")
    for threads in ("3", "0"):
        run(tessera_bin, "build", "-q", "-o", tmp_path / f"lib{threads}.tsr", "--threads", threads,
            d, env={"OMP_NUM_THREADS": "1"})
    assert (tmp_path / "lib3.tsr").read_bytes() == (tmp_path / "lib0.tsr").read_bytes()
    # The module, in a child process, so that an abort fails the test instead of ending pytest.
    script = ("import sys, tessera; lib = tessera.Library.build(sys.argv[1], threads=4); "
              "lib.save(sys.argv[2])")
    proc = subprocess.run([sys.executable, "-c", script, d, tmp_path / "py.tsr"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "py.tsr").read_bytes() == (tmp_path / "lib3.tsr").read_bytes()
