"""tessera: rebuild images from a library of patches cut from example images.

A thin layer over tessera's C++ core. Exact nearest-patch search (squared L2 over uint8 pixels,
ties to the lowest patch id), all cores, deterministic: the results are the ``tessera`` command's.

    >>> import tessera
    >>> lib = tessera.Library.build(["train/"], tile=16, rotations=(0, 90, 180, 270), mode="gray")
    >>> lib.save("lib.tsr")                     # the CLI's file format
    >>> lib = tessera.Library.open("lib.tsr")   # memory-mapped, nothing copied
    >>> out = lib.mosaic("target.png")          # numpy uint8 (H, W), or (H, W, 3) for rgb
    >>> tiles, grid = tessera.tiles(image, 16)  # the image's 16x16 tiles, row-major
    >>> dist, ids = lib.search(tiles, k=5)      # int64 (n, 5) each, nearest first
    >>> lib.provenance(ids).path                # the source image of every id
    >>> cells, info = tessera.assign(dist, ids, max_uses=2)  # optimal, no id in > 2 cells

Paths may be str, bytes or os.PathLike; like Python's ``os`` functions, tessera passes file names
to the system as ``os.fsencode`` gives them and returns them as ``os.fsdecode`` does (str, with
undecodable bytes as surrogate escapes), so any file name works.

Images (``images`` of :meth:`Library.build`, ``target`` of :meth:`Library.mosaic`) may be file
paths (decoded by libvips exactly as the CLI decodes them), PIL images, or numpy uint8 arrays
(H, W) gray or (H, W, 3) RGB; they are converted to the library's mode as the CLI does (gray is
ITU-R 601 luma, the same numbers as PIL's ``convert('L')``).

For code written against scikit-learn, :class:`tessera.NearestNeighbors` takes its
``NearestNeighbors`` calls (Euclidean, exact) and :meth:`Library.from_patches` builds a library
from a patch matrix.

Exceptions: :class:`TypeError` for an argument of the wrong type or dtype, :class:`ValueError` for
a wrong shape, :class:`FileNotFoundError` for a missing file, :class:`IndexError` for a patch id
out of range, and :class:`tessera.Error` (a ValueError) for what the engine refuses: an argument's
value out of range (checked by the CLI's checks, in its words), a corrupt or foreign library
file, an undecodable image, parameters that cannot make a library.
"""

from __future__ import annotations

from . import _tessera
from ._assign import assign
from ._library import Library
from ._neighbors import NearestNeighbors
from ._pickle import _reopen  # pickles name it tessera._reopen
from ._tessera import Error
from ._tiles import tiles, untile
from ._types import ImageLike, PathLike, SizeLike  # noqa: F401 (the signatures' argument types)
from ._types import MosaicResult, Provenance, Source

__all__ = [
    "Library",
    "NearestNeighbors",
    "MosaicResult",
    "Provenance",
    "Source",
    "Error",
    "assign",
    "tiles",
    "untile",
    "__version__",
]
__version__: str = _tessera.__version__

# Shown, documented and pickled as tessera.X, wherever they are defined.
for _public in (
    Library, NearestNeighbors, MosaicResult, Provenance, Source, _reopen, tiles, untile, assign
):
    _public.__module__ = __name__
del _public
