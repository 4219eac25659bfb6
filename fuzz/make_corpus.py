"""Writes the seed corpus in fuzz/corpus/: small images in every supported format and variant,
and small libraries built from them by the tessera command. Run from the repository root:
/usr/bin/python3 fuzz/make_corpus.py build/tessera"""
import pathlib
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from PIL import Image

root = pathlib.Path(__file__).resolve().parent / "corpus"
images, libraries = root / "image", root / "library"
images.mkdir(parents=True, exist_ok=True)
libraries.mkdir(parents=True, exist_ok=True)

rng = np.random.default_rng(0)
rgb = Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8))
variants = {
    "rgb.png": (rgb, {}), "gray.png": (rgb.convert("L"), {}), "palette.png": (rgb.convert("P"), {}),
    "rgba.png": (rgb.convert("RGBA"), {}), "gray16.png": (Image.fromarray(
        (np.asarray(rgb.convert("L")).astype(np.uint16) * 257)), {}),
    "rgb.jpg": (rgb, {"quality": 50}), "gray.jpg": (rgb.convert("L"), {}),
    "cmyk.jpg": (rgb.convert("CMYK"), {}), "progressive.jpg": (rgb, {"progressive": True}),
    "rgb.gif": (rgb.convert("P"), {}), "rgb.bmp": (rgb, {}), "gray.bmp": (rgb.convert("L"), {}),
    "gray.pgm": (rgb.convert("L"), {}), "rgb.ppm": (rgb, {}), "rgb.tif": (rgb, {}),
    "lzw.tif": (rgb, {"compression": "tiff_lzw"}), "cmyk.tif": (rgb.convert("CMYK"), {}),
    "rgb.webp": (rgb, {"quality": 50}), "lossless.webp": (rgb.convert("RGBA"), {"lossless": True}),
}
for name, (image, options) in variants.items():
    image.save(images / name, **options)

# Headers declaring far more pixels than they hold, and a zero-sized image.
def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

(images / "bomb.png").write_bytes(
    b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 200000, 200000, 8, 2, 0, 0, 0)) +
    png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b""))
(images / "bomb.bmp").write_bytes(
    struct.pack("<2sIHHI", b"BM", 54, 0, 0, 54) +
    struct.pack("<IiiHHIIiiII", 40, 100000, -100000, 1, 24, 0, 0, 0, 0, 0, 0))
(images / "bomb.pgm").write_bytes(b"P5\n100000 100000\n255\n" + b"\0" * 16)
(images / "zero.pgm").write_bytes(b"P5\n0 7\n255\n")

tessera = sys.argv[1]
with tempfile.TemporaryDirectory() as tmp:
    Image.fromarray(rng.integers(0, 256, (9, 8, 3), dtype=np.uint8)).save(f"{tmp}/a.png")
    Image.fromarray(rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)).save(f"{tmp}/b.png")
    for name, args in {
        "rgb.tsr": ["--tile", "4"],
        "gray-rotations.tsr": ["--tile", "3", "--stride", "2", "--mode", "gray", "--rotations",
                               "0,90,180,270", "--flips"],
        "wide.tsr": ["--tile", "5x2", "--stride", "3x1", "--rotations", "0,180"],
        "whole.tsr": ["--whole", "--tile", "3", "--render", "5", "--rotations", "0,90"],
        "whole-pad.tsr": ["--whole", "--tile", "4x2", "--render", "6x3", "--fit", "pad"],
    }.items():
        subprocess.run([pathlib.Path(tessera).resolve(), "build", "a.png", "b.png", "-o",
                        libraries / name, "-q", *args], check=True, cwd=tmp)
