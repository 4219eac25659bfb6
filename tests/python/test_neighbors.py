"""tessera.NearestNeighbors, Library.from_patches and tessera.tiles/untile, with scikit-learn's
NearestNeighbors(algorithm='brute') as the truth: the same distances exactly, the same indices
wherever the distances do not tie."""

import numpy as np
import pytest
import sklearn.neighbors

import tessera
from tessera_testing import load


def assert_same_as_sklearn(got, X, Y, k):
    """Distances equal to scikit-learn's brute force; indices equal wherever the distance ties
    with no other neighbour (scikit-learn's tie order is unspecified; it is asked for one more
    neighbour to see ties at the k-th). Ties in tessera: ascending index."""
    d, i = got
    assert d.dtype == np.float64 and i.dtype == np.int64
    assert d.shape == i.shape == (len(Y), k)
    nn = sklearn.neighbors.NearestNeighbors(n_neighbors=min(k + 1, len(X)), algorithm="brute")
    sd, si = nn.fit(X).kneighbors(Y)
    np.testing.assert_array_equal(d, sd[:, :k])
    tied = np.zeros_like(sd, dtype=bool)
    tied[:, 1:] |= sd[:, 1:] == sd[:, :-1]
    tied[:, :-1] |= sd[:, :-1] == sd[:, 1:]
    tied = tied[:, :k]
    np.testing.assert_array_equal(i[~tied], si[:, :k][~tied])
    same = d[:, 1:] == d[:, :-1]
    assert np.all(i[:, 1:][same] > i[:, :-1][same])


@pytest.mark.parametrize("d", [1, 7, 64, 256, 300, 16384])
def test_random_rows_equal_sklearn(d):
    rng = np.random.default_rng(d)
    X = rng.integers(0, 256, (400, d), dtype=np.uint8)
    Y = rng.integers(0, 256, (50, d), dtype=np.uint8)
    Y[:5] = X[[3, 10, 100, 200, 399]]  # exact hits, distance 0
    got = tessera.NearestNeighbors(n_neighbors=4).fit(X).kneighbors(Y)
    assert_same_as_sklearn(got, X, Y, 4)
    # Exact hits: distance 0, the lowest row equal to the query (d=1 has many equal rows).
    np.testing.assert_array_equal(got[0][:5, 0], 0.0)
    lowest = [np.flatnonzero((X == y).all(axis=1))[0] for y in Y[:5]]
    np.testing.assert_array_equal(got[1][:5, 0], lowest)


def test_real_patches_equal_sklearn_with_ties(data_dir):
    """16x16 gray patches of two photographs, flattened: the original workflow's matrix."""
    X, _ = tessera.tiles(load(data_dir / "brick.png"), 16)
    X = np.concatenate([X, X[:10]]).reshape(-1, 256)  # duplicates: ties to the lowest index
    Y, _ = tessera.tiles(load(data_dir / "coins.png"), 16)
    Y = Y.reshape(-1, 256)
    nn = tessera.NearestNeighbors(n_neighbors=1, n_jobs=-1).fit(X)
    got = nn.kneighbors(Y)
    assert_same_as_sklearn(got, X, Y, 1)
    assert nn.n_samples_fit_ == len(X) and nn.n_features_in_ == 256
    # A duplicated row's nearest is its first copy.
    d, i = nn.kneighbors(X[-10:], n_neighbors=2)
    np.testing.assert_array_equal(i, np.stack([np.arange(10), len(X) - 10 + np.arange(10)], 1))
    np.testing.assert_array_equal(d, 0.0)


def test_patch_shaped_input_and_integer_dtypes():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (200, 8, 8, 3), dtype=np.uint8)
    Y = rng.integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    got = tessera.NearestNeighbors(n_neighbors=3).fit(X.astype(np.int64)).kneighbors(Y)
    assert_same_as_sklearn(got, X.reshape(200, -1), Y.reshape(20, -1), 3)
    ids = tessera.NearestNeighbors(n_neighbors=3).fit(X).kneighbors(Y, return_distance=False)
    np.testing.assert_array_equal(ids, got[1])


def test_x_none_leaves_each_row_out_like_sklearn():
    rng = np.random.default_rng(2)
    X = rng.integers(0, 256, (100, 30), dtype=np.uint8)
    X[50] = X[49]  # a duplicate pair: each the other's nearest
    d, i = tessera.NearestNeighbors(n_neighbors=3).fit(X).kneighbors()
    sd, si = sklearn.neighbors.NearestNeighbors(n_neighbors=3, algorithm="brute").fit(X).kneighbors()
    np.testing.assert_array_equal(d, sd)
    # Random rows: the only ties are between the duplicate pair, as others' neighbours.
    pair = np.isin(si, [49, 50])
    np.testing.assert_array_equal(i[~pair], si[~pair])
    np.testing.assert_array_equal(np.sort(i[pair]), np.sort(si[pair]))
    assert i[49, 0] == 50 and i[50, 0] == 49


def test_kneighbors_graph_equals_sklearn():
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, (60, 16), dtype=np.uint8)
    Y = rng.integers(0, 256, (10, 16), dtype=np.uint8)
    ours = tessera.NearestNeighbors(n_neighbors=2).fit(X)
    theirs = sklearn.neighbors.NearestNeighbors(n_neighbors=2, algorithm="brute").fit(X)
    for mode in ("connectivity", "distance"):
        a = ours.kneighbors_graph(Y, mode=mode).toarray()
        b = theirs.kneighbors_graph(Y, mode=mode).toarray()
        np.testing.assert_array_equal(a, b)


def test_refusals():
    X = np.zeros((4, 9), np.uint8)
    with pytest.raises(ValueError, match="Euclidean"):
        tessera.NearestNeighbors(metric="manhattan").fit(X)
    with pytest.raises(ValueError, match="Euclidean"):
        tessera.NearestNeighbors(p=1).fit(X)
    with pytest.raises(TypeError, match=r"a \* 255.*\[0, 1\]"):
        tessera.NearestNeighbors().fit(X.astype(np.float64))
    with pytest.raises(ValueError, match="0 to 255"):
        tessera.NearestNeighbors().fit(np.full((4, 9), 256))
    with pytest.raises(ValueError, match="not fitted"):
        tessera.NearestNeighbors().kneighbors(X)
    nn = tessera.NearestNeighbors(n_neighbors=5).fit(X)
    with pytest.raises(ValueError, match="n_neighbors"):
        nn.kneighbors(X)  # 5 > 4 rows
    with pytest.raises(ValueError, match="shape"):
        nn.kneighbors(np.zeros((2, 8), np.uint8))
    with pytest.raises(ValueError, match="features"):
        tessera.NearestNeighbors().fit(np.zeros((2, 16385), np.uint8))


def test_from_patches_ids_are_rows(data_dir):
    image = load(data_dir / "coins.png")
    tiles, grid = tessera.tiles(image, 16)
    assert grid == (303 // 16, 384 // 16) and tiles.shape == (grid[0] * grid[1], 16, 16)
    np.testing.assert_array_equal(tessera.untile(tiles, grid), image[:288, :384])
    flat = tessera.Library.from_patches(tiles.reshape(len(tiles), -1), tile=16)
    shaped = tessera.Library.from_patches(tiles)
    np.testing.assert_array_equal(flat.patches, tiles)
    np.testing.assert_array_equal(shaped.patches, tiles)
    distances, ids = flat.search(tiles[::-1], k=1)
    assert np.all(distances == 0)
    first = {t.tobytes(): i for i, t in reversed(list(enumerate(tiles)))}  # lowest id per tile
    assert [first[t.tobytes()] for t in tiles[::-1]] == list(ids[:, 0])
    p = flat.provenance(5)
    assert (p.path, p.x, p.y, p.transform) == ("<patches>", 0, 80, "rot0")
    rgb, _ = tessera.tiles(np.zeros((32, 48, 3), np.uint8), (16, 8))
    assert rgb.shape == (12, 16, 8, 3)
    assert tessera.Library.from_patches(rgb.reshape(12, -1), tile=(16, 8)).mode == "rgb"
    with pytest.raises(TypeError, match="tile="):
        tessera.Library.from_patches(tiles.reshape(len(tiles), -1))
    with pytest.raises(ValueError, match="values"):
        tessera.Library.from_patches(tiles.reshape(len(tiles), -1), tile=8)


def test_float_images_get_advice_for_either_range():
    """Clipping a [0, 1] image to 0..255 and casting makes it black: the advice says how to scale
    it, and how to convert a [0, 255] float image."""
    lib = tessera.Library.from_patches(np.zeros((2, 4, 4), np.uint8))
    for call in (lambda a: lib.mosaic(a), lambda a: tessera.Library.build([a], tile=4),
                 lambda a: tessera.tiles(a, 4)):
        with pytest.raises(TypeError) as error:
            call(np.full((8, 8), 0.5))
        message = str(error.value)
        assert "np.rint(a * 255).astype(np.uint8) for values in [0, 1]" in message
        assert "for values in [0, 255]" in message

