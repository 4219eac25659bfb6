"""tessera.assign: the optimal assignment under a repeat cap from the caller's candidate lists."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import _arguments, _tessera


def _int64_matrix(value: Any, what: str) -> np.ndarray:
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{what} must be an integer array, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{what} must have shape (cells, k), got {array.shape}")
    if array.size and array.min() < 0:
        raise ValueError(f"{what} must not be negative")
    if array.dtype == np.uint64 and array.size and array.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{what} must be below 2**63")
    return np.ascontiguousarray(array, dtype=np.int64)


def assign(
    distances: Any, ids: Any, max_uses: int, n_tiles: Optional[int] = None
) -> Tuple[np.ndarray, Dict[str, Any]]:
    """The assignment of one tile per cell, each tile in at most ``max_uses`` cells, with the
    smallest total distance: the exact optimum (a min-cost flow on the candidate pairs, integer
    costs), as ``tessera mosaic --max-uses`` computes it.

    Parameters
    ----------
    distances : integer (cells, k), each cell's candidate costs, nearest first per row (as
        :meth:`Library.search` returns them: squared distances).
    ids : integer (cells, k), the candidate tile ids, distinct within a row.
    max_uses : the most cells one tile may be placed in, at least 1.
    n_tiles : the number of tiles (ids are below it); None for ``ids.max() + 1``.

    Only the listed pairs are ever chosen: the lists are the whole problem. ``certified`` says
    more: the assignment is also optimal among all assignments of any tile to any cell, given
    that every pair left out of a cell's list costs at least that list's last distance (true of
    the k nearest tiles from an exact search such as :meth:`Library.search`; always so when
    k == n_tiles). Where it is False, a larger k may find a cheaper assignment; ``lower_bound``
    is then what no assignment can beat under that same condition.

    Returns ``(tiles, info)``: int64 (cells,) the tile placed in each cell, and a dict with
    ``total_cost``, ``lower_bound``, ``certified``, ``rounds`` (solves),
    ``distinct_tiles`` and ``most_uses`` (the largest number of cells one tile is in).

    Raises :class:`tessera.Error` when ``max_uses * n_tiles`` is below the cell count, or the
    lists cannot place every cell under the cap.
    """
    d = _int64_matrix(distances, "distances")
    i = _int64_matrix(ids, "ids")
    if d.shape != i.shape:
        raise ValueError(f"distances {d.shape} and ids {i.shape} must have the same shape")
    if not _arguments.is_int(max_uses):
        raise TypeError(f"max_uses must be an int, got {max_uses!r}")
    if n_tiles is None:
        n_tiles = int(i.max()) + 1 if i.size else 0
    elif not _arguments.is_int(n_tiles):
        raise TypeError(f"n_tiles must be an int or None, got {n_tiles!r}")
    if not 0 <= n_tiles < 2**32 or not 0 <= max_uses < 2**32:
        raise ValueError("n_tiles and max_uses must be from 0 to 2**32 - 1")
    if i.size and i.max() >= n_tiles:
        raise ValueError(f"ids must be below n_tiles ({n_tiles}), got {int(i.max())}")
    if d.shape[0] and d.shape[1] == 0:
        raise ValueError("each cell needs at least one candidate")
    return _tessera.assign(d, i, int(n_tiles), int(max_uses))
