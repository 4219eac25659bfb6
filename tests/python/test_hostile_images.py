"""Hostile image inputs: every bad file gets exit 1 and a one-line message naming it, nothing is
written, and oversized headers are refused before any pixel is decoded."""
import functools
import io
import os
import resource
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

import tessera_testing
from tessera_testing import assert_failed, noise


# These tests look at how tessera fails: a run is not expected to succeed unless a test says so.
run = functools.partial(tessera_testing.run, check=False)


def assert_nothing_written(directory):
    left = [name for name in os.listdir(directory) if name.startswith(".") or name.endswith(".tsr")]
    assert left == []


def encoded(array, fmt, **options):
    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt, **options)
    return out.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width, height):
    """A PNG whose header declares width x height, followed by a tiny, valid IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b""))


def tiff_declaring(width, height, tile=None, rows_per_strip=None):
    """A gray TIFF whose header declares the given layout, with 200 bytes of pixel data."""
    data = b"\x80" * 200
    entries = {256: (4, width), 257: (4, height), 258: (3, 8), 259: (3, 1), 262: (3, 1), 277: (3, 1)}
    if tile:
        entries.update({322: (4, tile), 323: (4, tile), 324: (4, 8), 325: (4, len(data))})
    else:
        entries.update({273: (4, 8), 278: (4, rows_per_strip), 279: (4, len(data))})
    ifd = struct.pack("<H", len(entries))
    for tag, (kind, value) in sorted(entries.items()):
        ifd += struct.pack("<HHIHH" if kind == 3 else "<HHII", tag, kind, 1, value,
                           *([0] if kind == 3 else []))
    return b"II*\x00" + struct.pack("<I", 8 + len(data)) + data + ifd + struct.pack("<I", 0)


def build(tessera_bin, tmp_path, source, *extra):
    return run(tessera_bin, "build", source, "-o", tmp_path / "out" / "lib.tsr", "--tile", "8", *extra)


@pytest.fixture
def out_dir(tmp_path):
    (tmp_path / "out").mkdir()
    return tmp_path / "out"


BAD_FILES = {
    "empty.png": (b"", "is empty"),
    "text.png": (b"hello, this is not an image\n" * 20, "not a supported image format"),
    "truncated-header.png": (png_header_only(40, 40)[:20], "cannot decode image"),
    "zero-width.png": (png_header_only(0, 40), "cannot decode image"),
    "zero-height.png": (png_header_only(40, 0), "cannot decode image"),
    "svg.png": (b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"/>',
                "not a supported image format"),
    "pdf.jpg": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "not a supported image format"),
    "matrix.pgm": (b"2 2\n1 2\n3 4\n", "not a supported image format"),
    "zero-size.pgm": (b"P5\n0 0\n255\n", "cannot decode image"),
    # Found by fuzzing: a text PNM declaring a million pixels in 40 bytes took seconds to "decode".
    "text-bomb.ppm": (b"P3\n1000 1000\n255\n" + b"1 2 3 " * 4, "is truncated: its header declares 1000x1000"),
    # A 100x100 TIFF declaring a 65520x65520 tile (12 GB for one tile buffer) or 4e9-row strips.
    "huge-tile.tif": (tiff_declaring(100, 100, tile=65520), "cannot decode image"),
    "huge-strip.tif": (tiff_declaring(100, 100, rows_per_strip=4000000000), "cannot decode image"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_refused_with_its_name(tessera_bin, tmp_path, out_dir, name):
    data, message = BAD_FILES[name]
    (tmp_path / name).write_bytes(data)
    result = build(tessera_bin, tmp_path, tmp_path / name)
    assert_failed(result, name, message)
    assert_nothing_written(out_dir)


def corrupted(fmt):
    data = bytearray(encoded(noise(64, 64), fmt))
    for i in range(len(data) // 3, len(data), 97):
        data[i] ^= 0x5A
    return bytes(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "TIFF", "WEBP", "BMP", "PPM"])
def test_truncated_and_corrupt_files_are_refused(tessera_bin, tmp_path, out_dir, fmt):
    whole = encoded(noise(64, 64), fmt)
    path = tmp_path / ("truncated." + fmt.lower())
    path.write_bytes(whole[: len(whole) * 2 // 3])
    assert_failed(build(tessera_bin, tmp_path, path), str(path))
    assert_nothing_written(out_dir)
    # Flipped bytes: PNG's checksums catch them; other formats may decode to noise, but a
    # failure is still one line naming the file, never a crash.
    path = tmp_path / ("corrupt." + fmt.lower())
    path.write_bytes(corrupted(fmt))
    # Repeated for PNG: a decoder error lost between libvips threads once let 3 runs in 100 pass.
    for _ in range(30 if fmt == "PNG" else 1):
        result = build(tessera_bin, tmp_path, path)
        if fmt == "PNG" or result.returncode != 0:
            assert_failed(result, str(path))
            assert_nothing_written(out_dir)


def test_bad_files_in_a_directory_are_skipped_with_a_warning(tessera_bin, tmp_path, out_dir):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "good.png").write_bytes(encoded(noise(32, 32), "PNG"))
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "bomb.png").write_bytes(png_header_only(200000, 200000))
    (photos / "tiny.png").write_bytes(encoded(noise(4, 4), "PNG"))
    result = build(tessera_bin, tmp_path, photos)
    assert result.returncode == 0, result.stderr
    assert "empty.jpg: is empty" in result.stderr and "skipped" in result.stderr
    assert "bomb.png: image is 200000x200000" in result.stderr
    assert "tiny.png: 4x4 is smaller than the tile 8x8" in result.stderr
    assert (out_dir / "lib.tsr").exists()
    # --strict turns the first bad file into a failure, and nothing is written.
    (out_dir / "lib.tsr").unlink()
    assert_failed(build(tessera_bin, tmp_path, photos, "--strict"), "bomb.png")
    assert_nothing_written(out_dir)


def test_default_pixel_limit_refuses_a_bomb_from_its_header(tessera_bin, tmp_path, out_dir):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(200000, 200000))
    assert_failed(build(tessera_bin, tmp_path, bomb), "bomb.png: image is 200000x200000",
                  "over the limit of 268435456", "--max-pixels")
    assert_nothing_written(out_dir)


def peak_rss_kib(command):
    """Runs `command` in a child and returns the child's peak resident set size in KiB."""
    probe = ("import resource, subprocess, sys\n"
             "subprocess.run(sys.argv[1:], capture_output=True)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", probe, *map(str, command)], capture_output=True,
                         text=True, check=True, timeout=120)
    return int(out.stdout)


def cut_short(fmt):
    """A real 300x300 image with most of its pixel data cut off but a readable header."""
    whole = encoded(noise(300, 300), fmt)
    return whole[: len(whole) // 2]


# Refusing a cut-short file for its size (not for its missing data) proves that the limit is
# applied from the header, before decoding. (libvips checks a WebP's or GIF's whole structure
# before its header is known, so those are tested whole, below.)
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP", "PPM"])
def test_pixel_limit_applies_before_decoding(tessera_bin, tmp_path, out_dir, fmt):
    path = tmp_path / ("cut." + fmt.lower())
    path.write_bytes(cut_short(fmt))
    assert_failed(build(tessera_bin, tmp_path, path, "--max-pixels", 1000),
                  "image is 300x300 = 90000 pixels, over the limit of 1000")
    assert_nothing_written(out_dir)
    # Under a limit it fits, the same file fails on its missing data instead.
    result = build(tessera_bin, tmp_path, path)
    assert result.returncode == 1 and "over the limit" not in result.stderr


def test_whole_webp_over_the_limit_is_refused(tessera_bin, tmp_path, out_dir):
    (tmp_path / "big.webp").write_bytes(encoded(noise(300, 300), "WEBP"))
    assert_failed(build(tessera_bin, tmp_path, tmp_path / "big.webp", "--max-pixels", 1000),
                  "big.webp: image is 300x300 = 90000 pixels, over the limit of 1000")
    assert_nothing_written(out_dir)


def test_gif_bomb_is_refused_from_its_header(tessera_bin, tmp_path, out_dir):
    # 65535x65535 screen and frame, a few bytes of LZW data: 17 GB if it were decoded.
    gif = (b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x00\x00\x00" + b"," +
           struct.pack("<HHHH", 0, 0, 65535, 65535) + b"\x00\x02\x02\x44\x01\x00;")
    (tmp_path / "bomb.gif").write_bytes(gif)
    assert_failed(build(tessera_bin, tmp_path, tmp_path / "bomb.gif"),
                  "bomb.gif: image is 65535x65535 = 4294836225 pixels, over the limit")
    assert_nothing_written(out_dir)


@pytest.mark.skipif("TESSERA_SANITIZED" in os.environ,
                    reason="AddressSanitizer's shadow memory and quarantine inflate the resident size")
def test_bmp_bomb_is_not_decoded(tessera_bin, tmp_path, out_dir):
    # ImageMagick (libvips's BMP loader) decodes the whole image while reading the header.
    path = tmp_path / "big.bmp"
    path.write_bytes(encoded(np.zeros((3000, 3000, 3), np.uint8), "BMP"))  # 27 MB of pixels
    command = [tessera_bin, "build", path, "-o", out_dir / "lib.tsr", "--max-pixels", 1000]
    assert peak_rss_kib(command) < 100_000  # decoding would take 3000*3000*8 bytes = 72 MB more
    assert_nothing_written(out_dir)



@pytest.mark.skipif("TESSERA_SANITIZED" in os.environ,
                    reason="AddressSanitizer reserves terabytes of address space: no ulimit -v")
def test_decoding_short_of_memory_fails_or_is_exact(tessera_bin, tmp_path):
    """libvips fails an allocation in its worker thread with only a warning, and the image comes
    back with rows missing or repeated: a build then 'succeeded' with most patches wrong. Over
    the 40 MB of address-space limits just below the least that builds, every run gives the
    exact library or fails cleanly. (Some end in a crash inside GLib, which recurses while
    logging its own failed allocation; those write nothing and are not tessera's to fix.)"""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:3000, 0:4000]
    pixels = np.stack([x * 255 // 4000, y * 255 // 3000, (x + y) % 256], -1)
    pixels = (pixels + rng.integers(-20, 20, pixels.shape)).clip(0, 255).astype(np.uint8)
    (tmp_path / "big.jpg").write_bytes(encoded(pixels, "JPEG", quality=90))

    def build_within(kib, out):
        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (kib << 10, kib << 10))
        return run(tessera_bin, "build", "-q", "--threads", 1, "--tile", 16, tmp_path / "big.jpg",
                   "-o", out, check=False, preexec_fn=limit)

    reference = tmp_path / "ref.tsr"
    assert build_within(1 << 30, reference).returncode == 0
    low, high = 50_000, 1_000_000  # KiB: fails, builds
    while high - low > 1000:
        middle = (low + high) // 2
        (out := tmp_path / "probe.tsr").unlink(missing_ok=True)
        ok = build_within(middle, out).returncode == 0 and out.read_bytes() == reference.read_bytes()
        low, high = (low, middle) if ok else (middle, high)
    clean_failures = 0
    for kib in range(high - 40_000, high, 1000):
        out = tmp_path / f"{kib}.tsr"
        result = build_within(kib, out)
        if result.returncode == 0:
            assert out.read_bytes() == reference.read_bytes(), f"a wrong library at {kib} KiB"
            out.unlink()
        elif result.returncode == 1:
            assert_failed(result, "big.jpg")
            assert not out.exists()
            clean_failures += 1
    assert clean_failures > 0


@pytest.mark.skipif("TESSERA_SANITIZED" in os.environ,
                    reason="AddressSanitizer aborts on an allocation too large instead of failing it")
def test_out_of_memory_after_a_bmp_is_an_error_not_an_abort(tessera_bin, tmp_path, out_dir):
    """ImageMagick, which decodes BMP, loads DjVuLibre, whose new-handler turned every later
    failed allocation into an exception that is not std::bad_alloc: tessera aborted. An image
    too large for memory after a BMP is skipped with a warning like any other."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.bmp").write_bytes(encoded(noise(16, 16), "BMP"))
    (d / "b.png").write_bytes(png_header_only(200_000, 200_000))  # 120 GB as RGB
    # A stride that makes the library small: the decode alone needs too much memory.
    result = run(tessera_bin, "build", "--threads", 1, "--max-pixels", 10**11, "--stride", 65536,
                 d, "-o",
                 out_dir / "lib.tsr", check=False)
    assert result.returncode == 0, result.stderr
    assert f"{d / 'b.png'}: out of memory while decoding; skipped" in result.stderr


VARIANTS = {
    "palette.png": lambda a: Image.fromarray(a).convert("P"),
    "gray16.png": lambda a: Image.fromarray(a[:, :, 0].astype(np.uint16) * 257),
    "rgba.png": lambda a: Image.fromarray(a).convert("RGBA"),
    "gray-alpha.png": lambda a: Image.fromarray(a).convert("LA"),
    "bilevel.png": lambda a: Image.fromarray(a).convert("1"),
    "cmyk.jpg": lambda a: Image.fromarray(a).convert("CMYK"),
    "cmyk.tif": lambda a: Image.fromarray(a).convert("CMYK"),
    "gray.jpg": lambda a: Image.fromarray(a).convert("L"),
    "palette.gif": lambda a: Image.fromarray(a).convert("P"),
    "rgba.webp": lambda a: Image.fromarray(a).convert("RGBA"),
    "gray.pgm": lambda a: Image.fromarray(a).convert("L"),
    "gray16.tif": lambda a: Image.fromarray(a[:, :, 0].astype(np.uint16) * 257),
    "float.tif": lambda a: Image.fromarray(a[:, :, 0].astype(np.float32) / 255),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("mode", ["gray", "rgb"])
def test_pixel_format_variants_load(tessera_bin, tmp_path, out_dir, name, mode):
    VARIANTS[name](noise(24, 40)).save(tmp_path / name)
    result = build(tessera_bin, tmp_path, tmp_path / name, "--mode", mode, "--strict")
    assert result.returncode == 0, result.stderr
    info = run(tessera_bin, "info", out_dir / "lib.tsr", "--sources")
    assert "40x24" in info.stdout, info.stdout


# Variants whose 8-bit meaning is exact: decoding one must give the same pixels as the plain
# image, so a mosaic of it from a library cut from the plain image is perfect (PSNR inf).
EXACT_VARIANTS = {
    "palette.png": lambda a: (Image.fromarray(a).convert("P"), Image.fromarray(a).convert("P").convert("RGB")),
    "rgba.png": lambda a: (Image.fromarray(a).convert("RGBA"), Image.fromarray(a)),
    "gray16.png": lambda a: (Image.fromarray(a[:, :, 0].astype(np.uint16) * 257), Image.fromarray(a[:, :, 0])),
    "gray-alpha.png": lambda a: (Image.fromarray(a).convert("LA"), Image.fromarray(a).convert("L")),
    "bilevel.png": lambda a: (Image.fromarray(a).convert("1"), Image.fromarray(a).convert("1").convert("L")),
    "gray16.tif": lambda a: (Image.fromarray(a[:, :, 0].astype(np.uint16) * 257), Image.fromarray(a[:, :, 0])),
    "rgb.ppm": lambda a: (Image.fromarray(a), Image.fromarray(a)),
    "rgb.bmp": lambda a: (Image.fromarray(a), Image.fromarray(a)),
}


@pytest.mark.parametrize("name", sorted(EXACT_VARIANTS))
def test_pixel_format_variants_decode_exactly(tessera_bin, tmp_path, out_dir, name):
    variant, plain = EXACT_VARIANTS[name](noise(24, 40))
    variant.save(tmp_path / name)
    plain.save(tmp_path / "plain.png")
    mode = "gray" if plain.mode == "L" else "rgb"
    assert build(tessera_bin, tmp_path, tmp_path / "plain.png", "--mode", mode).returncode == 0
    result = run(tessera_bin, "mosaic", out_dir / "lib.tsr", tmp_path / name, "-o", out_dir / "m.png")
    assert result.returncode == 0, result.stderr
    assert "PSNR inf dB" in result.stderr, result.stderr


def test_wrong_extension_is_decoded_by_content(tessera_bin, tmp_path, out_dir):
    (tmp_path / "photo.png").write_bytes(encoded(noise(16, 16), "JPEG"))
    result = build(tessera_bin, tmp_path, tmp_path / "photo.png", "--strict")
    assert result.returncode == 0, result.stderr


def test_target_smaller_than_the_tile_is_one_row_of_cropped_tiles(tessera_bin, tmp_path, out_dir):
    """Edge tiles are cropped, never padded: a 30x5 target is 4 tiles 5 high (the module's rule
    too; test_module_cli compares both with the oracle)."""
    (tmp_path / "src.png").write_bytes(encoded(noise(32, 32), "PNG"))
    assert build(tessera_bin, tmp_path, tmp_path / "src.png").returncode == 0
    (tmp_path / "small.png").write_bytes(encoded(noise(5, 30), "PNG"))
    result = run(tessera_bin, "mosaic", out_dir / "lib.tsr", tmp_path / "small.png",
                 "-o", out_dir / "m.png", "--matches", out_dir / "m.csv")
    assert result.returncode == 0, result.stderr
    assert "4 tiles of 8x8" in result.stderr
    with Image.open(out_dir / "m.png") as im:
        assert im.size == (30, 5)
    # Smaller on both sides: one cropped tile.
    (tmp_path / "tiny.png").write_bytes(encoded(noise(3, 5), "PNG"))
    result = run(tessera_bin, "mosaic", out_dir / "lib.tsr", tmp_path / "tiny.png",
                 "-o", out_dir / "t.png")
    assert result.returncode == 0, result.stderr
    assert "tessera mosaic: 1 tile of 8x8" in result.stderr


@pytest.mark.parametrize("name", ["empty.png", "bomb.png", "text.png"])
def test_bad_target_is_refused(tessera_bin, tmp_path, out_dir, name):
    (tmp_path / "src.png").write_bytes(encoded(noise(32, 32), "PNG"))
    assert build(tessera_bin, tmp_path, tmp_path / "src.png").returncode == 0
    data = {"empty.png": b"", "bomb.png": png_header_only(200000, 200000),
            "text.png": b"not an image"}[name]
    (tmp_path / name).write_bytes(data)
    result = run(tessera_bin, "mosaic", out_dir / "lib.tsr", tmp_path / name, "-o", out_dir / "m.png")
    assert_failed(result, name)
    assert sorted(os.listdir(out_dir)) == ["lib.tsr"]


def test_each_bad_file_gets_its_own_reason_for_every_thread_count(tessera_bin, tmp_path, out_dir):
    """libvips keeps one error buffer for the whole process: files failing at the same time could
    swap reasons or lose them ('unknown libvips error'). Many files of kinds with different
    reasons, decoded two at a time, must get the warnings they get one at a time."""
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "good.png").write_bytes(encoded(noise(16, 16), "PNG"))
    for fmt in ["PNG", "JPEG", "GIF", "TIFF"]:
        whole = encoded(noise(48, 48), fmt)
        for i in range(12):
            cut = whole[: len(whole) * (i + 4) // 20]
            (photos / f"{fmt.lower()}{i:02}.{fmt.lower()}").write_bytes(cut)

    def warnings(threads):
        result = build(tessera_bin, tmp_path, photos, "--threads", threads, "-q")
        assert result.returncode == 0, result.stderr
        return sorted(result.stderr.splitlines())

    alone = warnings(1)
    assert len(alone) == 48
    for line, name in zip(alone, sorted(p.name for p in photos.iterdir() if p.name != "good.png")):
        assert line.startswith(f"tessera: warning: {photos / name}: ") and "unknown" not in line
    assert len({line.split(": ", 3)[3] for line in alone}) >= 4  # reasons that can be told apart
    for _ in range(3):
        assert warnings(2) == alone


def test_large_images_decode_without_a_temporary_directory(tessera_bin, tmp_path, out_dir):
    # libvips decodes an image over its disc threshold (100 MB unless VIPS_DISC_THRESHOLD says
    # otherwise) into a file in $TMPDIR: with a small or full $TMPDIR such an image failed as
    # "cannot decode image", and inside a directory it was skipped. Here the threshold is 1 kB and
    # $TMPDIR does not exist.
    source = tmp_path / "big.png"
    Image.fromarray(noise(64, 80)).save(source)
    env = {"VIPS_DISC_THRESHOLD": "1k", "TMPDIR": str(tmp_path / "missing")}
    library = out_dir / "lib.tsr"
    proc = tessera_testing.run(tessera_bin, "build", "-q", "--strict", "--tile", "8", "-o", library,
                               source, env=env)
    assert proc.stderr == ""
    out = out_dir / "out.png"
    tessera_testing.run(tessera_bin, "mosaic", "-q", library, source, "-o", out, env=env)
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(source)))
