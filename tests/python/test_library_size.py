"""A build's size is estimated from the images' headers before any is decoded, and refused, with
the estimate and how to make it smaller, over --max-library-bytes / max_library_bytes= or over
the free space where the library is written."""
import os
import re
import time

import pytest
from PIL import Image

import tessera
import tessera_testing
from tessera_testing import assert_failed, noise


def patches_in(message):
    return int(re.search(r"\(([0-9]+) patch(es)? of", message).group(1))


def test_a_huge_build_is_refused_at_once_with_its_size(tessera_bin, tmp_path):
    """The issue's case: stride 1, 8 transforms, one 1411x1411 photo: 14 GB, once written
    after 84 s; now refused from the header, before decoding."""
    Image.new("RGB", (1411, 1411), (90, 120, 30)).save(tmp_path / "photo.png")
    (tmp_path / "out").mkdir()
    start = time.monotonic()
    result = tessera_testing.run(tessera_bin, "build", tmp_path / "photo.png", "-o",
                                 tmp_path / "out" / "lib.tsr", "--stride", "1", "--rotations",
                                 "0,90,180,270", "--flips", check=False)
    line = assert_failed(result, "the library would take about ", " (15590528 patches of 16x16 rgb), over the limit of 8589934592 bytes (8.6 GB); use a larger stride, fewer rotations or flips, or a smaller tile, or raise --max-library-bytes")
    assert time.monotonic() - start < 10, line
    assert os.listdir(tmp_path / "out") == []


@pytest.mark.parametrize("extra", [[], ["--transform-sources"]])
def test_the_estimate_counts_the_patches_the_build_cuts(tessera_bin, tmp_path, extra):
    # Sides minus the tile not multiples of the stride: the two grids differ.
    Image.fromarray(noise(45, 61, seed=3)).save(tmp_path / "a.png")
    Image.fromarray(noise(37, 29, seed=4)).save(tmp_path / "b.png")
    args = [tmp_path / "a.png", tmp_path / "b.png", "--tile", "8", "--stride", "3", "--rotations",
            "0,90,270", "--flips", *extra]
    tessera_testing.run(tessera_bin, "build", *args, "-o", tmp_path / "lib.tsr", "-q")
    built = tessera.Library.open(tmp_path / "lib.tsr")
    size = (tmp_path / "lib.tsr").stat().st_size
    result = tessera_testing.run(tessera_bin, "build", *args, "-o", tmp_path / "x.tsr",
                                 "--max-library-bytes", "1000", check=False)
    line = assert_failed(result, "over the limit of")
    assert patches_in(line) == len(built)
    assert not (tmp_path / "x.tsr").exists()
    # The estimate leaves out only the sources' records (names, sizes): never over the file.
    tessera_testing.run(tessera_bin, "build", *args, "-o", tmp_path / "x.tsr",
                        "--max-library-bytes", str(size), "-q")
    assert (tmp_path / "x.tsr").read_bytes() == (tmp_path / "lib.tsr").read_bytes()


def test_python_refuses_over_max_library_bytes(tmp_path):
    Image.fromarray(noise(40, 40, seed=5)).save(tmp_path / "a.png")
    with pytest.raises(tessera.Error, match=r"\(25 patches of 8x8 rgb\), over the limit of "
                       r"1000 bytes \(1.0 KB\); .* or raise max_library_bytes="):
        tessera.Library.build(tmp_path / "a.png", tile=8, max_library_bytes=1000)
    assert len(tessera.Library.build(tmp_path / "a.png", tile=8)) == 25
    with pytest.raises(TypeError, match="max_library_bytes must be an int"):
        tessera.Library.build(tmp_path / "a.png", tile=8, max_library_bytes="big")
    with pytest.raises(tessera.Error, match="max_library_bytes"):
        tessera.Library.build(tmp_path / "a.png", tile=8, max_library_bytes=0)
