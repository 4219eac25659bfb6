"""tessera.NearestNeighbors: scikit-learn's NearestNeighbors interface for exact Euclidean search
over pixels, so that code written against scikit-learn runs by changing its import."""

from __future__ import annotations

import os
from typing import Any, Optional, Tuple, Union

import numpy as np

from . import _arguments, _images
from ._library import Library

# Flattened rows longer than one 128-wide tile are laid out as several tile rows, zero-padded.
_ROW = 128
_MAX_FEATURES = _ROW * 128


class NearestNeighbors:
    """Exact k nearest neighbours by Euclidean distance, for uint8 data: a drop-in for
    ``sklearn.neighbors.NearestNeighbors`` where its data are pixels.

        >>> from tessera import NearestNeighbors
        >>> nn = NearestNeighbors(n_neighbors=1).fit(X)        # X: (n, D) uint8
        >>> distances, indices = nn.kneighbors(Y)             # (m, 1) float64, (m, 1) int64

    ``X`` is uint8, or integers all 0 to 255 (checked): rows (n, D) with D up to 16384, or
    patches (n, h, w) gray or (n, h, w, 3) rgb with sides up to 128. Float data are refused
    (TypeError): scale them to 0..255 integers first.

    Results are scikit-learn's brute-force search's: distances are float64, the square root of
    the exact integer squared distance; indices are int64 row numbers of ``X``, nearest first.
    Ties (equal distances) go to the lowest index; scikit-learn leaves their order unspecified,
    so indices may differ from its where distances tie, never the distances.

    Parameters: ``n_neighbors`` (default 5, as scikit-learn's); ``algorithm`` any of 'auto',
    'brute', 'kd_tree', 'ball_tree' (the search is always exact, so all give the same result);
    ``metric`` 'minkowski' with ``p=2`` (the default), 'euclidean' or 'l2' (anything else raises
    ValueError); ``n_jobs`` threads: None or -1 for all cores (scikit-learn's None is one; the
    result is the same for any count), -2 for all but one, and so on.

    Attributes after :meth:`fit`: ``n_samples_fit_``, ``n_features_in_``, ``effective_metric_``
    ('euclidean'), and ``library_``, the :class:`tessera.Library` of the rows (``save()`` it to
    reuse it).
    """

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        algorithm: str = "auto",
        metric: str = "minkowski",
        p: float = 2,
        n_jobs: Optional[int] = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.metric = metric
        self.p = p
        self.n_jobs = n_jobs

    def fit(self, X: np.ndarray, y: Any = None) -> "NearestNeighbors":
        """Build the library of the rows of ``X``; ``y`` is ignored. Returns self."""
        if self.algorithm not in ("auto", "brute", "kd_tree", "ball_tree"):
            raise ValueError(f"algorithm must be 'auto', 'brute', 'kd_tree' or 'ball_tree', "
                             f"got {self.algorithm!r}")
        euclidean = self.metric in ("euclidean", "l2") or (self.metric == "minkowski"
                                                              and self.p == 2)
        if not euclidean:
            raise ValueError(
                f"tessera.NearestNeighbors computes Euclidean distances only, not metric="
                f"{self.metric!r} with p={self.p!r}: use sklearn.neighbors.NearestNeighbors"
            )
        _check_n_neighbors(self.n_neighbors)
        pixels = _images.integer_pixels(X, "X")
        if pixels.ndim == 2:
            self._row_shape: Tuple[int, ...] = pixels.shape[1:]
            self.n_features_in_ = pixels.shape[1]
            self.library_ = Library.from_patches(self._as_patches(pixels))
        elif pixels.ndim == 3 or (pixels.ndim == 4 and pixels.shape[3] == 3):
            self._row_shape = pixels.shape[1:]
            self.n_features_in_ = int(np.prod(pixels.shape[1:]))
            self.library_ = Library.from_patches(pixels)
        else:
            raise ValueError(
                f"X must be (n, D), (n, h, w) or (n, h, w, 3), got shape {pixels.shape}"
            )
        self.n_samples_fit_ = len(self.library_)
        self.effective_metric_ = "euclidean"
        return self

    def kneighbors(
        self,
        X: Optional[np.ndarray] = None,
        n_neighbors: Optional[int] = None,
        return_distance: bool = True,
    ) -> Union[Tuple[np.ndarray, np.ndarray], np.ndarray]:
        """The ``n_neighbors`` (default: the constructor's) nearest rows of the fitted data to
        each row of ``X``, nearest first. ``X`` as for :meth:`fit`, with the fitted rows' shape.
        ``X=None``: the fitted rows themselves, each leaving itself out (scikit-learn's rule:
        when a row is not among its neighbours, duplicates filling them, the first is dropped).

        Returns ``(distances, indices)``, float64 and int64 (m, n_neighbors), or the indices
        alone if ``return_distance`` is False.
        """
        library = self._fitted()
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        _check_n_neighbors(k)
        _arguments.flag(return_distance, "return_distance")
        own = X is None
        if own:
            queries = library.patches
            k += 1
        else:
            queries = _images.integer_pixels(X, "X")
            if queries.shape[1:] != self._row_shape:
                raise ValueError(
                    f"X has rows of shape {queries.shape[1:]}, the fitted data "
                    f"{self._row_shape}"
                )
            if queries.ndim == 2:
                queries = self._as_patches(queries)
        if k > self.n_samples_fit_:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, n_samples_fit = "
                f"{self.n_samples_fit_}, n_samples = {len(queries)}"
                + (" (X=None leaves each row out, so at most n_samples_fit - 1)" if own else "")
            )
        if len(queries) == 0:
            squared = np.zeros((0, k), np.int64)
            indices = np.zeros((0, k), np.int64)
        else:
            squared, indices = library.search(queries, k, _threads(self.n_jobs))
        if own:
            squared, indices = _leave_self_out(squared, indices)
        if not return_distance:
            return indices
        return np.sqrt(squared.astype(np.float64)), indices

    def kneighbors_graph(
        self, X: Optional[np.ndarray] = None, n_neighbors: Optional[int] = None,
        mode: str = "connectivity",
    ) -> Any:
        """The k-neighbours graph as a scipy.sparse CSR matrix (m, n_samples_fit): ones
        (``mode='connectivity'``) or distances (``mode='distance'``), as scikit-learn's."""
        from scipy.sparse import csr_matrix

        if mode not in ("connectivity", "distance"):
            raise ValueError(f"mode must be 'connectivity' or 'distance', got {mode!r}")
        distances, indices = self.kneighbors(X, n_neighbors, return_distance=True)
        m, k = indices.shape
        data = np.ones(m * k) if mode == "connectivity" else distances.ravel()
        return csr_matrix(
            (data, indices.ravel(), np.arange(0, m * k + 1, k)), shape=(m, self.n_samples_fit_)
        )

    def _fitted(self) -> Library:
        library = getattr(self, "library_", None)
        if library is None:
            raise ValueError(
                "This NearestNeighbors instance is not fitted yet: call fit(X) first"
            )
        return library

    @staticmethod
    def _as_patches(rows: np.ndarray) -> np.ndarray:
        """Rows of D values as gray patches of width min(D, 128), zero-padded at the end; the
        zeros add nothing to any distance."""
        n, d = rows.shape
        if not 1 <= d <= _MAX_FEATURES:
            raise ValueError(f"X must have 1 to {_MAX_FEATURES} features per row, got {d}")
        w = min(d, _ROW)
        h = -(-d // w)
        if h * w == d:
            return rows.reshape(n, h, w)
        padded = np.zeros((n, h * w), np.uint8)
        padded[:, :d] = rows
        return padded.reshape(n, h, w)


def _check_n_neighbors(k: Any) -> None:
    if not _arguments.is_int(k) or k < 1:
        raise ValueError(f"n_neighbors must be a positive int, got {k!r}")


def _threads(n_jobs: Optional[int]) -> int:
    """joblib's n_jobs as a thread count; 0 is all cores."""
    if n_jobs is None or n_jobs == -1:
        return 0
    if not _arguments.is_int(n_jobs) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a nonzero int, got {n_jobs!r}")
    if n_jobs > 0:
        return int(n_jobs)
    return max(1, (os.cpu_count() or 1) + 1 + int(n_jobs))


def _leave_self_out(squared: np.ndarray, indices: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Each row's neighbours without the row itself: scikit-learn's rule for X=None."""
    n, k = indices.shape
    keep = indices != np.arange(n)[:, None]
    keep[np.all(keep, axis=1), 0] = False  # itself not found among ties: drop the first
    return squared[keep].reshape(n, k - 1), indices[keep].reshape(n, k - 1)
