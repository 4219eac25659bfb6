"""tessera against the workflow it replaces: the same patches in scikit-learn's
NearestNeighbors(n_neighbors=1) give the same nearest squared distance for every tile of a real
photograph (edge tiles on their visible pixels)."""

import shutil

import numpy as np
import pytest
from PIL import Image
from sklearn.neighbors import NearestNeighbors

from tessera_testing import cut, load, read_library, read_matches_csv, run, transform, visible_tiles

TILE = 16


@pytest.fixture(scope="module")
def workflow(tmp_path_factory, data_dir, tessera_bin):
    d = tmp_path_factory.mktemp("sklearn")
    train = d / "train"
    train.mkdir()
    shutil.copy(data_dir / "brick.png", train / "brick.png")
    shutil.copy(data_dir / "gravel.png", train / "gravel.png")
    # Colour and not square; cropped so its sides are multiples of the tile, where tessera's
    # patch set is exactly the original workflow's.
    with Image.open(data_dir / "coffee.png") as im:
        im.crop((0, 0, 592, 400)).save(train / "coffee.png")
    lib = d / "lib.tsr"
    run(tessera_bin, "build", "-q", "-o", lib, "--tile", TILE, "--stride", TILE, "--rotations",
        "0,90,180,270", "--mode", "gray", train)
    return d, train, lib


def original_patches(train):
    """The original workflow: each image and its rotations, cut into 16x16 patches, flattened."""
    patches = []
    for name in sorted(p.name for p in train.iterdir()):
        image = load(train / name)  # PIL convert('L')
        for k in range(4):
            patches += cut(np.rot90(image, k), (TILE, TILE), (TILE, TILE))
    return np.stack(patches)


# chelsea is 451x300, so it has edge tiles; astronaut is 512x512 and colour.
@pytest.mark.parametrize("target_name", ["chelsea.png", "astronaut.png"])
def test_nearest_distances_equal_sklearn(workflow, data_dir, tessera_bin, target_name):
    d, train, lib = workflow
    matches = d / (target_name + ".csv")
    run(tessera_bin, "mosaic", "-q", lib, data_dir / target_name, "-o", d / (target_name + ".png"),
        "--matches", matches)
    rows = read_matches_csv(matches)
    target = load(data_dir / target_name)
    h, w = target.shape
    assert len(rows) == -(-h // TILE) * -(-w // TILE)

    patches = original_patches(train)
    assert len(patches) == len(read_library(lib).patches)
    # One index per visible tile size: the full tile, and the cropped right column, bottom row
    # and corner, each fitted on the same crop of every patch.
    by_size = visible_tiles(rows, target, TILE)
    for (tw, th), (group, windows) in by_size.items():
        fitted = patches[:, :th, :tw].reshape(len(patches), -1).astype(np.float64)
        nn = NearestNeighbors(n_neighbors=1).fit(fitted)
        distances, _ = nn.kneighbors(windows.astype(np.float64))
        sklearn_squared = np.rint(distances[:, 0] ** 2).astype(np.int64)
        tessera = np.array([r["distance"] for r in group], dtype=np.int64)
        np.testing.assert_array_equal(tessera, sklearn_squared, err_msg=f"tiles {tw}x{th}")
    assert len(by_size) == (4 if target_name == "chelsea.png" else 1)


def test_reported_provenance_reproduces_distance(workflow, data_dir, tessera_bin):
    """Each row's source, position and transform name a patch that numpy cuts from the PIL image
    at exactly the reported distance."""
    d, _, lib = workflow
    run(tessera_bin, "mosaic", "-q", lib, data_dir / "coins.png", "-o", d / "coins.png",
        "--matches", d / "coins.csv")
    target = load(data_dir / "coins.png").astype(np.int64)
    names = ["rot0", "rot90", "rot180", "rot270"]
    sources = {}
    rows = read_matches_csv(d / "coins.csv")
    assert len(rows) == -(-target.shape[0] // TILE) * -(-target.shape[1] // TILE)  # edges too
    for r in rows:
        if r["source"] not in sources:
            sources[r["source"]] = load(r["source"])
        window = sources[r["source"]][r["source_y"] : r["source_y"] + TILE,
                                      r["source_x"] : r["source_x"] + TILE]
        patch = transform(window, names.index(r["transform"])).astype(np.int64)
        th, tw = target[r["y"] : r["y"] + TILE, r["x"] : r["x"] + TILE].shape
        assert r["distance"] == ((patch[:th, :tw] - target[r["y"] : r["y"] + th, r["x"] : r["x"] + tw]) ** 2).sum()
