"""Library.build(whole=True) and Library.mosaic(grid=, render_size=): the CLI's posters from
Python, with the same rules and messages."""

import numpy as np
import pytest
from PIL import Image

import tessera
from tessera_testing import read_library, run


def photos(count=12, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (int(rng.integers(20, 60)), int(rng.integers(20, 60)), 3),
                         dtype=np.uint8) for _ in range(count)]


def test_python_poster_equals_the_cli_poster(tessera_bin, tmp_path, data_dir):
    images = photos()
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"p{i:02}.png")
    lib = tessera.Library.build(sorted(tmp_path.glob("p*.png")), whole=True, tile=8, render=20,
                                fit="pad")
    run(tessera_bin, "build", "-o", tmp_path / "cli.tsr", "--whole", "--tile", 8, "--render", 20,
        "--fit", "pad", *sorted(tmp_path.glob("p*.png")))
    lib.save(tmp_path / "py.tsr")
    a, b = read_library(tmp_path / "py.tsr"), read_library(tmp_path / "cli.tsr")
    assert np.array_equal(a.patches, b.patches)
    assert np.array_equal(a.render_patches, b.render_patches)
    poster = lib.mosaic(data_dir / "astronaut.png", grid=9)
    assert poster.shape == (9 * 20, 9 * 20, 3)
    run(tessera_bin, "mosaic", tmp_path / "cli.tsr", data_dir / "astronaut.png", "-o",
        tmp_path / "cli.png", "--grid", 9)
    assert np.array_equal(poster, np.asarray(Image.open(tmp_path / "cli.png")))
    res = lib.mosaic(data_dir / "astronaut.png", grid=(4, 9), render_size=12, return_matches=True)
    assert res.image.shape == (4 * 12, 9 * 12, 3) and res.grid == (4, 9)


def test_whole_from_arrays_keeps_render_pixels(tmp_path):
    images = photos(5, 1)
    lib = tessera.Library.build(images, whole=True, tile=(6, 8), render=(18, 24))
    assert len(lib) == 5
    lib.save(tmp_path / "a.tsr")
    f = read_library(tmp_path / "a.tsr")
    assert f.kind == 1 and f.render == (24, 18) and f.render_patches.shape == (5, 18, 24, 3)


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(whole=True, tile=16, render=8), "smaller than the tile"),
    (dict(whole=True, stride=4), "stride cuts windows"),
    (dict(render=32), "add whole=True"),
    (dict(whole=True, fit="zoom"), "fit must be"),
])
def test_build_errors(kwargs, fragment):
    with pytest.raises(tessera.Error, match=fragment):
        tessera.Library.build(photos(2), **kwargs)


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(grid=0), "grid"),
    (dict(grid=(0, 5)), "grid"),
    (dict(render_size=4), "render_size 4x4 is out of range"),
    (dict(render_size=64), "render_size 64x64 is out of range"),
    (dict(grid=1 << 21), "out of range"),
])
def test_mosaic_errors(kwargs, fragment):
    lib = tessera.Library.build(photos(3), whole=True, tile=8, render=20)
    with pytest.raises(tessera.Error, match=fragment):
        lib.mosaic(photos(1, 5)[0], **kwargs)


def info_fields(tessera_bin, path):
    """`tessera info`'s lines as {name: value}."""
    return dict(line.split(None, 1) for line in run(tessera_bin, "info", path).stdout.splitlines())


@pytest.mark.parametrize("whole", [True, False])
def test_library_properties_match_tessera_info(tessera_bin, tmp_path, whole):
    if whole:
        lib = tessera.Library.build(photos(4, 2), whole=True, tile=(8, 12), render=(16, 24),
                                    fit="stretch", mode="gray")
    else:
        lib = tessera.Library.build(photos(2, 3), tile=(4, 6), mode="gray")
    lib.save(tmp_path / "lib.tsr")
    info = info_fields(tessera_bin, tmp_path / "lib.tsr")
    for library in (lib, tessera.Library.open(tmp_path / "lib.tsr")):
        assert library.kind == info["kind"] == ("whole photos" if whole else "windows")
        height, width = library.render
        assert library.render == ((16, 24) if whole else library.tile)
        assert f"{width}x{height}" == info.get("render", info["tile"])  # info: width x height
        assert library.fit == info.get("fit") == ("stretch" if whole else None)
        assert f"tessera {library.writer}" == info["writer"]
        assert library.writer == tessera.__version__
        assert str(library.format_version) == info["format"]
