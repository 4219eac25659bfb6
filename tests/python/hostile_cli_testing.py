"""What the hostile-command tests share: tessera run without expecting success, a directory of
two noise images, and a library built from them."""
import functools
import os

import pytest
from PIL import Image

import tessera_testing
from tessera_testing import noise

# These tests look at how tessera fails: a run is not expected to succeed unless a test says so.
run = functools.partial(tessera_testing.run, check=False)


def noise_png(path, height, width, seed=0):
    Image.fromarray(noise(height, width, seed=seed)).save(path)
    return path


@pytest.fixture
def work(tmp_path):
    noise_png(tmp_path / "a.png", 48, 64, 1)
    noise_png(tmp_path / "b.png", 40, 40, 2)
    (tmp_path / "out").mkdir()
    return tmp_path


@pytest.fixture
def library(tessera_bin, work):
    path = work / "lib.tsr"
    result = run(tessera_bin, "build", work / "a.png", work / "b.png", "-o", path, "--tile", "8",
                 "--rotations", "0,90,180,270", "-q")
    assert result.returncode == 0, result.stderr
    return path


def mosaic_with_matches(tessera_bin, library, target, out, **kwargs):
    return run(tessera_bin, "mosaic", library, target, "-o", out / "m.png", "--matches",
               out / "m.json", "-q", **kwargs)


def snapshot(directory):
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}
