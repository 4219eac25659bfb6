"""The value types tessera returns (Source, Provenance, MosaicResult) and the argument aliases."""

from __future__ import annotations

import os
from typing import Any, NamedTuple, Tuple, Union

import numpy as np

PathLike = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
ImageLike = Union[PathLike, np.ndarray, Any]  # Any: a PIL.Image.Image
SizeLike = Union[int, Tuple[int, int]]


class Source(NamedTuple):
    """One source image of a library: its path as given to build (``os.fsdecode``d; or a name,
    for images given as arrays or PIL images), size in pixels, and the size and XXH3-64 hash of
    its bytes."""

    path: str
    width: int
    height: int
    file_bytes: int
    content_hash: int


class Provenance(NamedTuple):
    """Where patches came from, one entry per id, each field shaped like the ids given
    (Python scalars for a single id). ``transform`` names what was applied to the source window
    to make the patch: 'rot0', 'rot90', 'rot180', 'rot270' (counter-clockwise, ``numpy.rot90``),
    'flip' (``numpy.fliplr``), 'flip-rot90', 'flip-rot180', 'flip-rot270' (flip, then rotate)."""

    path: Any  # numpy str array: the source image's path or name
    source: Any  # int64 array: index into Library.sources
    x: Any  # int64 array: left column of the window in the source
    y: Any  # int64 array: top row of the window in the source
    transform: Any  # numpy str array


class MosaicResult(NamedTuple):
    """What ``Library.mosaic(target, return_matches=True)`` returns.

    image:   numpy uint8 (H, W) or (H, W, 3), the mosaic (the target's size, the library's mode).
    matches: numpy structured array, one record per tile in row-major order (the tiles of
             the CLI's ``--matches`` rows) with int fields row, col, x, y (tile position in the target),
             width, height (visible size: edge tiles are cropped), patch (library id) and
             distance (squared L2 over the visible pixels). ``lib.provenance(matches['patch'])``
             gives the sources; ``matches['distance'].reshape(grid)`` is the error map.
    psnr:    PSNR in dB of the mosaic against the target (in the library's mode); inf if equal.
    grid:    (rows, cols) of tiles.
    """

    image: np.ndarray
    matches: np.ndarray
    psnr: float
    grid: Tuple[int, int]
