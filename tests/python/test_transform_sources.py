"""`tessera build --transform-sources` (Python: transform_sources=True) against the original
scikit-learn workflow written out in numpy: rotate/flip each whole training image, cut it on the
grid from its top-left corner, fit NearestNeighbors(n_neighbors=1), rebuild the target. Images
here have sides that are not multiples of the tile, where tessera's default grid differs."""

import shutil

import numpy as np
import pytest
from PIL import Image
from sklearn.neighbors import NearestNeighbors

from tessera_testing import cut, load, read_library, read_matches_csv, run, transform

TILE = 16
ROTATIONS = ["0,90,180,270"]


@pytest.fixture(scope="module")
def train(tmp_path_factory, data_dir):
    """Gray and colour sources, none with both sides multiples of 16, one not square."""
    d = tmp_path_factory.mktemp("transform_sources") / "train"
    d.mkdir()
    shutil.copy(data_dir / "coins.png", d / "a_coins.png")  # 384x303 gray
    shutil.copy(data_dir / "chelsea.png", d / "b_chelsea.png")  # 451x300 rgb
    with Image.open(data_dir / "gravel.png") as im:
        im.crop((0, 0, 203, 117)).save(d / "c_gravel.png")  # neither side a multiple
    return d


def original_patches(train, mode, flips=False, stride=TILE):
    """The original workflow's patches, in its order: each image (sorted by name), each of its
    transforms (ascending: rotations, then the mirrored ones), each window row-major."""
    pil_mode = "L" if mode == "gray" else "RGB"
    patches = []
    for path in sorted(train.iterdir()):
        image = load(path, pil_mode)
        for t in range(8 if flips else 4):
            patches += cut(transform(image, t), (TILE, TILE), (stride, stride))
    return np.stack(patches)


def build(tessera_bin, train, out, *options):
    run(tessera_bin, "build", "-q", "-o", out, "--tile", TILE, "--rotations", *ROTATIONS,
        *options, train)
    return read_library(out)


@pytest.mark.parametrize("mode", ["gray", "rgb"])
@pytest.mark.parametrize("flips,stride", [(False, TILE), (True, 11)])
def test_patches_are_the_transformed_images_cut_on_the_grid(
        tessera_bin, train, tmp_path, mode, flips, stride):
    options = ["--mode", mode, "--stride", stride] + ["--flips"] * flips
    lib = build(tessera_bin, train, tmp_path / "lib.tsr", "--transform-sources", *options)
    want = original_patches(train, mode, flips, stride)
    assert lib.patches.shape == want.shape
    np.testing.assert_array_equal(lib.patches, want)
    # Provenance: the window at (x, y) of the source as stored, under the transform.
    sources = [load(s["path"], "L" if mode == "gray" else "RGB") for s in lib.sources]
    for i in range(0, len(want), 7):
        o = lib.origins[i]
        window = sources[o["source"]][o["y"] : o["y"] + TILE, o["x"] : o["x"] + TILE]
        np.testing.assert_array_equal(transform(window, o["transform"]), want[i], f"patch {i}")
    # The default grid is a different patch set on these images.
    default = build(tessera_bin, train, tmp_path / "default.tsr", *options)
    assert default.patches.shape != want.shape or not np.array_equal(default.patches, want)


def test_python_build_is_the_cli_build(tessera_bin, train, tmp_path):
    import tessera

    cli = tmp_path / "cli.tsr"
    build(tessera_bin, train, cli, "--transform-sources", "--mode", "gray")
    lib = tessera.Library.build([str(p) for p in sorted(train.iterdir())], tile=TILE,
                                rotations=(0, 90, 180, 270), mode="gray", transform_sources=True)
    lib.save(tmp_path / "py.tsr")
    assert (tmp_path / "py.tsr").read_bytes() == cli.read_bytes()
    first = lib.provenance(len(lib) - 1)
    assert first.path.endswith("c_gravel.png") and first.transform == "rot270"


@pytest.mark.parametrize("target_name", ["astronaut.png", "coffee.png"])
def test_mosaic_equals_the_original_workflow(tessera_bin, train, tmp_path, data_dir,
                                             target_name):
    """The original script's rebuilt image against tessera's mosaic: every whole tile's nearest
    distance the same, and the same pixels wherever scikit-learn's nearest is unique."""
    lib = tmp_path / "lib.tsr"
    build(tessera_bin, train, lib, "--transform-sources", "--mode", "gray")
    target = load(data_dir / target_name)
    run(tessera_bin, "mosaic", "-q", lib, data_dir / target_name, "-o", tmp_path / "out.png",
        "--matches", tmp_path / "m.csv")
    mosaic = load(tmp_path / "out.png")
    rows = {(r["y"], r["x"]): r for r in read_matches_csv(tmp_path / "m.csv")}

    X = original_patches(train, "gray").reshape(-1, TILE * TILE)
    grid_rows, grid_cols = target.shape[0] // TILE, target.shape[1] // TILE
    queries = np.array([target[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE].reshape(-1)
                        for r in range(grid_rows) for c in range(grid_cols)])
    nn = NearestNeighbors(n_neighbors=2, algorithm="brute").fit(X)
    distances, indices = nn.kneighbors(queries)
    unique = 0
    for i, (d, index) in enumerate(zip(distances, indices)):
        r, c = divmod(i, grid_cols)
        y, x = r * TILE, c * TILE
        assert rows[(y, x)]["distance"] == round(d[0] ** 2), f"tile {r},{c}"
        if d[0] != d[1] or np.array_equal(X[index[0]], X[index[1]]):
            unique += 1
            np.testing.assert_array_equal(mosaic[y : y + TILE, x : x + TILE],
                                          X[index[0]].reshape(TILE, TILE), f"tile {r},{c}")
    assert unique > 0.9 * len(queries)
