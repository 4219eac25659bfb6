"""Cutting an image into tiles on the grid and putting tiles back together: the two steps of the
original scikit-learn workflow around the search, in the order ``Library.mosaic`` uses."""

from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from . import _arguments, _images
from ._types import SizeLike


def tiles(image: Any, tile: SizeLike = 16) -> Tuple[np.ndarray, Tuple[int, int]]:
    """Cut ``image`` into its whole ``tile`` windows on the grid from the top-left corner.

    ``image``: a numpy uint8 array (H, W) or (H, W, 3), or a PIL image. ``tile``: an int or
    (height, width). Returns ``(tiles, grid)``: a new uint8 array (rows * cols, h, w) or
    (rows * cols, h, w, 3), row-major (left to right, top to bottom, the order of
    :meth:`Library.mosaic`'s tiles), and ``grid = (rows, cols)`` with rows = H // h and
    cols = W // w. The right and bottom strips narrower than a tile are left out (as a script
    cutting ``image[:rows * h, :cols * w]`` does); ``Library.mosaic`` covers them with cropped
    tiles instead.

        >>> t, grid = tessera.tiles(np.zeros((40, 33), np.uint8), 16)
        >>> t.shape, grid
        ((4, 16, 16), (2, 2))
    """
    h, w = _arguments.tile(tile)
    pixels = _images.image_pixels(image, "image")
    rows, cols = pixels.shape[0] // h, pixels.shape[1] // w
    channels = pixels.shape[2:]  # () or (3,)
    grid = pixels[: rows * h, : cols * w].reshape((rows, h, cols, w) + channels)
    return np.ascontiguousarray(grid.swapaxes(1, 2).reshape((rows * cols, h, w) + channels)), (
        rows,
        cols,
    )


def untile(tiles: np.ndarray, grid: Tuple[int, int]) -> np.ndarray:
    """The inverse of :func:`tiles`: ``tiles`` (rows * cols, h, w[, 3]) in row-major order, put
    side by side into one image (rows * h, cols * w[, 3]) of the same dtype.

        >>> t, grid = tessera.tiles(image, 16)
        >>> np.array_equal(tessera.untile(t, grid), image[: grid[0] * 16, : grid[1] * 16])
        True
    """
    if not isinstance(tiles, np.ndarray):
        raise TypeError(f"tiles must be a numpy array, got {type(tiles).__name__}")
    if not (
        isinstance(grid, (tuple, list))
        and len(grid) == 2
        and all(_arguments.is_int(v) and v >= 0 for v in grid)
    ):
        raise TypeError(f"grid must be a (rows, cols) pair of ints, got {grid!r}")
    rows, cols = int(grid[0]), int(grid[1])
    if tiles.ndim not in (3, 4) or len(tiles) != rows * cols:
        raise ValueError(
            f"tiles must be (rows * cols, h, w) or (rows * cols, h, w, 3) with rows * cols = "
            f"{rows * cols}, got {tiles.shape}"
        )
    h, w = tiles.shape[1:3]
    channels = tiles.shape[3:]
    grid_tiles = tiles.reshape((rows, cols, h, w) + channels).swapaxes(1, 2)
    return np.ascontiguousarray(grid_tiles.reshape((rows * h, cols * w) + channels))
