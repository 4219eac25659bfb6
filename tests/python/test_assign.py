"""tessera.assign: the optimal assignment under a repeat cap from the caller's candidate lists,
checked against scipy's linear_sum_assignment on the dense matrix (each tile's column repeated
max_uses times)."""

import numpy as np
import pytest

import tessera

optimize = pytest.importorskip("scipy.optimize")


def dense_optimum(costs, max_uses):
    rows, cols = optimize.linear_sum_assignment(np.repeat(costs, max_uses, axis=1))
    return int(costs[rows, cols // max_uses].sum())


def full_lists(costs):
    ids = np.argsort(costs, axis=1, kind="stable")
    return np.take_along_axis(costs, ids, axis=1), ids


def check_assignment(costs, max_uses, tiles, info):
    cells = np.arange(costs.shape[0])
    assert tiles.shape == (costs.shape[0],)
    assert np.bincount(tiles, minlength=costs.shape[1]).max() <= max_uses
    assert int(costs[cells, tiles].sum()) == info["total_cost"]
    assert info["most_uses"] == np.bincount(tiles).max()
    assert info["distinct_tiles"] == len(np.unique(tiles))


def points(rng, n, high):
    return rng.integers(0, high, size=(n, 3)).astype(np.int64)


def squared_distances(a, b):
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)


@pytest.mark.parametrize("max_uses", [1, 2, 3])
@pytest.mark.parametrize(
    "cells,n_tiles,high",
    [
        (200, 240, 256),  # random
        (180, 200, 3),  # ties: coordinates 0..2
        (300, 3000, 256),  # far more tiles than cells
    ],
)
def test_equals_scipy_with_complete_lists(max_uses, cells, n_tiles, high):
    rng = np.random.default_rng(cells * 10 + max_uses)
    costs = squared_distances(points(rng, cells, high), points(rng, n_tiles, high))
    distances, ids = full_lists(costs)
    tiles, info = tessera.assign(distances, ids, max_uses=max_uses)
    check_assignment(costs, max_uses, tiles, info)
    assert info["total_cost"] == dense_optimum(costs, max_uses)
    assert info["certified"] and info["lower_bound"] == info["total_cost"]


@pytest.mark.parametrize("max_uses", [1, 2, 3])
def test_tiles_exactly_sufficient(max_uses):
    rng = np.random.default_rng(max_uses)
    n_tiles = 70
    costs = squared_distances(points(rng, n_tiles * max_uses, 256), points(rng, n_tiles, 256))
    tiles, info = tessera.assign(*full_lists(costs), max_uses=max_uses)
    check_assignment(costs, max_uses, tiles, info)
    assert (np.bincount(tiles, minlength=n_tiles) == max_uses).all()
    assert info["total_cost"] == dense_optimum(costs, max_uses)


def test_real_instance_from_library_search(data_dir):
    """A real instance: the tiles of a photo against a small library's patches, complete lists
    from the exact search."""
    lib = tessera.Library.build([data_dir / "brick.png"], tile=8, stride=32, mode="gray")
    image = np.asarray(tessera._images.target_pixels(data_dir / "coins.png", "gray", 10**9))
    cut, _ = tessera.tiles(np.ascontiguousarray(image[:96, :128]), 8)
    distances, ids = lib.search(cut, k=len(lib))
    costs = np.empty_like(distances)
    np.put_along_axis(costs, ids, distances, axis=1)
    for max_uses in (1, 2, 3):
        tiles, info = tessera.assign(distances, ids, max_uses=max_uses)
        check_assignment(costs, max_uses, tiles, info)
        assert info["total_cost"] == dense_optimum(costs, max_uses)
        assert info["certified"]


def test_short_lists_are_the_whole_problem():
    """With k < n_tiles only listed pairs are chosen: the optimum among them (scipy with the
    unlisted pairs priced out of reach); certified only where the lists prove it for all pairs."""
    rng = np.random.default_rng(7)
    costs = squared_distances(points(rng, 120, 256), points(rng, 80, 256))
    distances, ids = full_lists(costs)
    k = 6
    tiles, info = tessera.assign(distances[:, :k], ids[:, :k], max_uses=2, n_tiles=80)
    listed = np.full_like(costs, 10**12)
    np.put_along_axis(listed, ids[:, :k], distances[:, :k], axis=1)
    check_assignment(costs, 2, tiles, info)
    assert info["total_cost"] == dense_optimum(listed, 2)
    assert info["lower_bound"] <= dense_optimum(costs, 2) <= info["total_cost"]
    if info["certified"]:
        assert info["total_cost"] == dense_optimum(costs, 2)


def test_certified_short_lists_are_optimal_for_all_pairs():
    rng = np.random.default_rng(3)
    costs = squared_distances(points(rng, 100, 256), points(rng, 400, 256))
    distances, ids = full_lists(costs)
    tiles, info = tessera.assign(distances[:, :8], ids[:, :8], max_uses=3, n_tiles=400)
    assert info["certified"]
    assert info["total_cost"] == dense_optimum(costs, 3)


def test_lists_that_cannot_place_every_cell():
    distances = np.zeros((3, 1), dtype=np.int64)
    ids = np.zeros((3, 1), dtype=np.int64)
    with pytest.raises(tessera.Error, match="cannot place every cell"):
        tessera.assign(distances, ids, max_uses=2, n_tiles=5)


def test_infeasible_cap():
    distances, ids = full_lists(np.arange(12).reshape(6, 2))
    with pytest.raises(tessera.Error, match="places at most 4 cells; the target has 6"):
        tessera.assign(distances, ids, max_uses=2)


def test_arguments_checked():
    d = np.zeros((2, 2), dtype=np.int64)
    with pytest.raises(TypeError):
        tessera.assign(d.astype(float), d, max_uses=1)
    with pytest.raises(ValueError):
        tessera.assign(d, d[:, :1], max_uses=1)
    with pytest.raises(ValueError):
        tessera.assign(d, np.array([[0, 1], [0, 5]]), max_uses=1, n_tiles=2)
    with pytest.raises(tessera.Error, match="at least 1"):
        tessera.assign(d, np.array([[0, 1], [1, 0]]), max_uses=0)
    tiles, info = tessera.assign(np.zeros((0, 3), np.int64), np.zeros((0, 3), np.int64), 1, 3)
    assert tiles.shape == (0,) and info["certified"]
