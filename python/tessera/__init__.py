"""tessera: rebuild images from a library of patches cut from example images.

A thin layer over tessera's C++ core. Exact nearest-patch search (squared L2 over uint8 pixels,
ties to the lowest patch id), all cores, deterministic: the results are the ``tessera`` command's.

    >>> import tessera
    >>> lib = tessera.Library.build(["train/"], tile=16, rotations=(0, 90, 180, 270), mode="gray")
    >>> lib.save("lib.tsr")                     # the CLI's file format
    >>> lib = tessera.Library.open("lib.tsr")   # memory-mapped, nothing copied
    >>> out = lib.mosaic("target.png")          # numpy uint8 (H, W), or (H, W, 3) for rgb
    >>> dist, ids = lib.search(tiles, k=5)      # int64 (n, 5) each, nearest first
    >>> lib.provenance(ids).path                # the source image of every id

Paths may be str, bytes or os.PathLike; like Python's ``os`` functions, tessera passes file names
to the system as ``os.fsencode`` gives them and returns them as ``os.fsdecode`` does (str, with
undecodable bytes as surrogate escapes), so any file name works.

Images (``images`` of :meth:`Library.build`, ``target`` of :meth:`Library.mosaic`) may be file
paths (decoded by libvips exactly as the CLI decodes them), PIL images, or numpy uint8 arrays
(H, W) gray or (H, W, 3) RGB; they are converted to the library's mode as the CLI does (gray is
ITU-R 601 luma, the same numbers as PIL's ``convert('L')``).

Exceptions: :class:`TypeError` for an argument of the wrong type or dtype, :class:`ValueError` for
a wrong shape or value, :class:`FileNotFoundError` for a missing file, :class:`IndexError` for a
patch id out of range, and :class:`tessera.Error` (a ValueError) for what the core refuses: a
corrupt or foreign library file, an undecodable image, parameters that cannot make a library.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import Any, Callable, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _tessera
from ._tessera import Error

__all__ = ["Library", "MosaicResult", "Provenance", "Source", "Error", "__version__"]
__version__: str = _tessera.__version__

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
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


_TRANSFORM_NAMES = np.array(_tessera.TRANSFORM_NAMES)


class Library:
    """A patch library: every tile-sized window of some source images, under each selected
    rotation/flip, with its provenance. Immutable; the same file format as ``tessera build``.

    Create one with :meth:`Library.build` (in memory) or :meth:`Library.open` (memory-mapped
    from a file). Use :meth:`mosaic` to rebuild an image, :meth:`search` for the k nearest
    patches of arbitrary tiles, :meth:`provenance` to map patch ids back to their sources.

    Properties: ``tile`` and ``stride`` as (height, width), ``mode`` ('gray' or 'rgb'),
    ``transforms`` (names, see :class:`Provenance`), ``sources`` (:class:`Source` tuples),
    ``path`` (the file, or None), ``patches`` (read-only uint8 view (n, h, w) or (n, h, w, 3)
    of the patch pixels, zero-copy), and ``len(lib)`` the number of patches.

    Patch ids follow the build order: sources in the order given (directories sorted by path),
    then transforms, then windows in row-major order.

    Pickling: a Library opened from a file, or saved to one, pickles as that file's absolute path,
    size and data checksum (the path plus under 100 bytes); unpickling re-opens the file
    (memory-mapped, so every process shares the same pages) and raises :class:`tessera.Error` if
    it no longer holds the same library. This makes a Library cheap to pass to
    ``multiprocessing`` workers. A Library that was built and never saved refuses to pickle
    (TypeError): ``save()`` it first.
    Methods release the GIL and may be called from several threads at once.
    """

    __slots__ = ("_core", "_path", "_source_files")
    _core: _tessera.CoreLibrary
    _path: Optional[str]
    # Built here: (st_dev, st_ino) of each source file -> its path, for save(). None when opened
    # from a file, whose source paths may be relative to a directory unknown here.
    _source_files: Optional[List[Tuple[bytes, Tuple[int, int], str]]]

    def __init__(self) -> None:
        raise TypeError("make a Library with Library.build(images, ...) or Library.open(path)")

    @classmethod
    def _wrap(cls, core: _tessera.CoreLibrary, path: Optional[str]) -> "Library":
        lib = object.__new__(cls)
        lib._core = core
        lib._path = path
        lib._source_files = None
        return lib

    # ---- making and storing ----

    @classmethod
    def build(
        cls,
        images: Union[ImageLike, Iterable[ImageLike]],
        tile: SizeLike = 16,
        stride: Optional[SizeLike] = None,
        rotations: Sequence[int] = (0,),
        flips: bool = False,
        mode: str = "rgb",
        strict: bool = False,
        max_pixels: int = _tessera.DEFAULT_MAX_PIXELS,
        threads: Optional[int] = None,
    ) -> "Library":
        """Cut every ``tile`` window, ``stride`` apart, from each image into a new library.

        Parameters
        ----------
        images : a path, or an iterable of paths, PIL images and numpy uint8 arrays (mixed).
            As in ``tessera build``: a directory stands for the image files below it
            (recursively, by extension, hidden files skipped, links followed with each directory
            walked once, sorted by path); one of those that cannot be decoded or is over
            max_pixels, an unreadable subdirectory and a link that cannot be followed are skipped
            with a warning. A file named explicitly must decode.
            Images smaller than the tile give no patches (warning). Warnings are issued in
            order after decoding, at the caller's line. One array is refused: pass [array],
            or list(array) for a stack of images. PIL 16-bit and float modes are refused: pass
            the file path. PIL images and non-contiguous arrays in a list or tuple are
            converted one at a time, in their turn (what converting one raises is raised then);
            from any other iterable, as they are yielded. C-contiguous uint8 arrays are used
            without a copy (a generator refilling one array must yield copies).
        tile : int or (height, width), 1 to 128 per side. Default 16.
        stride : int or (height, width), the step between windows. Default: the tile.
        rotations : degrees counter-clockwise, any of 0, 90, 180, 270. Default (0,).
            90 and 270 need a square tile.
        flips : also store the left-right mirror of each rotation.
        mode : 'gray' or 'rgb' (a str; default 'rgb', like the CLI). Fixed for the library; images and
            targets are converted to it.
        strict : fail (tessera.Error) on any undecodable or too-small image instead of skipping
            it with a warning, like ``tessera build --strict``.
        max_pixels : refuse image files with more pixels than this, from their header
            (decompression bombs); default 268435456, like ``--max-pixels``.
        threads : image files decoded at once, None for all cores. Patch ids do not depend on it.

        Returns the library, held in memory: ``save()`` it to reuse it or to pickle it.
        Raises TypeError / ValueError for bad arguments, FileNotFoundError for a missing path,
        tessera.Error for an undecodable file or when no image gives a patch.
        """
        tile_hw = _size(tile, "tile")
        stride_hw = tile_hw if stride is None else _size(stride, "stride")
        if not isinstance(rotations, (tuple, list, range, np.ndarray)) or not all(
            _is_int(r) for r in rotations
        ):
            raise TypeError(f"rotations must be a sequence of ints like (0, 90), got {rotations!r}")
        flips = _flag(flips, "flips")
        rotations = [int(r) for r in rotations]
        for r in rotations:  # before the core's int: the core says the same
            if r not in (0, 90, 180, 270):
                raise Error(f"invalid rotation {r}: rotations are 0, 90, 180 or 270 degrees")
        builder = _tessera.Builder(tile_hw, stride_hw, _mode(mode), rotations, flips)
        # Every input is checked now. A list or tuple holds its images through the call, so each
        # is converted in its turn (see _pixel_maker), one copy at a time; any other iterable may
        # reuse or close what it yields (PIL's ImageSequence.Iterator, a generator of Image.open,
        # one buffer refilled), so its items are converted as they are yielded.
        in_turn = isinstance(images, (list, tuple))
        inputs = []
        for index, item in enumerate(_image_items(images)):
            if isinstance(item, _PATH_TYPES):
                inputs.append((_existing_path(item), None))
                continue
            make = _pixel_maker(item, f"images[{index}]")
            if not in_turn:
                make = functools.partial(lambda pixels: pixels, make())
            inputs.append((os.fsencode(_default_name(item, index)), make))
        builder.add(inputs, _flag(strict, "strict"), _max_pixels(max_pixels), _threads(threads))
        lib = cls._wrap(builder.finish(), None)
        # The source paths are relative to this working directory, which may change before save:
        # each file is remembered by its absolute path (a file replaced under that name since is
        # still that source) and by its identity (a file moved since is too).
        lib._source_files = []
        for source in lib.sources:
            try:
                info = os.stat(source.path)
            except OSError:  # a name given to an array or a PIL image, or a file since removed
                continue
            absolute = os.path.abspath(os.fsencode(source.path))
            lib._source_files.append((absolute, (info.st_dev, info.st_ino), source.path))
        return lib

    @classmethod
    def open(cls, path: PathLike) -> "Library":
        """Memory-map a library file written by :meth:`save` or ``tessera build``. Nothing is
        copied: pages are read on demand and shared by every process that opens the file.
        Raises FileNotFoundError, or tessera.Error if the file is not a valid library."""
        path = os.path.abspath(_existing_path(path))
        return cls._wrap(_tessera.CoreLibrary.open(path), os.fsdecode(path))

    def save(self, path: PathLike) -> None:
        """Write the library to ``path`` (the CLI's format), atomically: a temporary file in the
        same directory is renamed over ``path`` when complete, so a Library memory-mapped from
        the old file keeps working (saving it onto its own file is safe). A symbolic link is
        written through (the file it names is replaced, the link stays). Refuses (tessera.Error)
        a path that exists and is not a regular file (a directory, FIFO, device), and one that
        is one of the library's source files, as ``tessera build`` does: recognised by device
        and inode if this Library was built here (the working directory may have changed since),
        by the stored source paths if it was opened from a file. Afterwards this Library
        pickles as that file."""
        raw = _path_bytes(path)
        source = self._source_at(raw)
        if source is not None:
            raise Error(
                f"{os.fsdecode(raw)}: would overwrite the input {source}; choose another output"
            )
        raw = os.path.abspath(raw)
        self._core.save(raw)
        self._path = os.fsdecode(raw)

    def _source_at(self, raw: bytes) -> Optional[str]:
        """The path of the source file that ``raw`` names (through links), if any."""
        try:
            info = os.stat(raw)
        except OSError:  # nothing there to overwrite (or the save will say why not)
            return None
        def names(path: Union[str, bytes]) -> bool:
            try:
                return os.path.samestat(os.stat(path), info)
            except OSError:  # missing, or a name given to an array
                return False

        if self._source_files is not None:
            for absolute, identity, shown in self._source_files:
                if identity == (info.st_dev, info.st_ino) or names(absolute):
                    return shown
            return None
        for source in self.sources:  # paths as stored, relative to the working directory
            if names(source.path):
                return source.path
        return None

    # ---- using ----

    def mosaic(
        self,
        target: ImageLike,
        threads: Optional[int] = None,
        return_matches: bool = False,
        max_pixels: int = _tessera.DEFAULT_MAX_PIXELS,
    ) -> Union[np.ndarray, MosaicResult]:
        """Rebuild ``target`` from the library: cut it into tiles (left to right, top to bottom;
        edge tiles cropped), replace each with its nearest patch (exact squared L2).

        Parameters
        ----------
        target : a path (decoded like the CLI), a PIL image, or a numpy uint8 array (H, W) or
            (H, W, 3); converted to the library's mode.
        threads : worker threads, None for all cores. The result is the same for any count.
        return_matches : return a :class:`MosaicResult` (image, per-tile matches, PSNR, grid)
            instead of the image alone.
        max_pixels : refuse a target file with more pixels than this, like ``--max-pixels``.

        Edge tiles are cropped, so a target side shorter than the tile is one row or column of
        cropped tiles.

        Returns numpy uint8 (H, W) for a gray library, (H, W, 3) for rgb: the same pixels as
        ``tessera mosaic`` writes.
        """
        _flag(return_matches, "return_matches")
        image, matches, psnr = self._core.mosaic(
            self._target(target, _max_pixels(max_pixels)), _threads(threads)
        )
        if not return_matches:
            return image
        rows = int(matches["row"][-1]) + 1
        return MosaicResult(image, matches, psnr, (rows, len(matches) // rows))

    def search(
        self, tiles: np.ndarray, k: int = 5, threads: Optional[int] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The k nearest patches of each tile, exactly, nearest first (ties to the lowest id).

        Parameters
        ----------
        tiles : numpy uint8, (n, h, w) for a gray library or (n, h, w, 3) for rgb, with h and w
            at most the tile's (a smaller window is compared with the top-left h x w of every
            patch, as for the target's edge tiles). Flattened full tiles (n, tile pixels) are
            accepted too, as scikit-learn takes them.
        k : neighbours per tile, 1 to len(self).
        threads : worker threads, None for all cores.

        Returns ``(distances, ids)``, both int64 (n, k), distances first like scikit-learn's
        ``kneighbors`` and FAISS: distances are squared L2 (sklearn's distances squared).
        """
        if not _is_int(k):
            raise TypeError(f"k must be an int, got {k!r}")
        if not 1 <= k <= len(self):  # before the core's int: the core says the same
            raise Error(f"k = {k} is out of range: the library has {len(self)} patches")
        return self._core.search(self._tiles(tiles), int(k), _threads(threads))

    def provenance(self, ids: Any) -> Provenance:
        """Source path, source index, window position (x, y) and transform of each patch id.

        ``ids``: an int or an int array of any shape (e.g. the ids from :meth:`search`); every
        field of the returned :class:`Provenance` has that shape (an empty list gives empty
        fields). Raises IndexError for an id out of range.
        """
        ids = np.asarray(ids)
        # np.asarray([]) is float64; ints beyond int64 and uint64 are kept as Python objects.
        ints = ids.dtype.kind in "iu" or all(_is_int(i) for i in ids.flat)
        if not ints:
            raise TypeError(f"ids must be integers, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise IndexError(
                f"patch ids must be 0 to {len(self) - 1}; got {ids.min()} to {ids.max()}"
            )
        ids = ids.astype(np.int64)
        origins = self._core.origins[ids].astype(np.int64)
        paths = np.array([s.path for s in self.sources])
        fields = (
            paths[origins[..., 0]],
            origins[..., 0],
            origins[..., 1],
            origins[..., 2],
            _TRANSFORM_NAMES[origins[..., 3]],
        )
        if ids.ndim == 0:
            return Provenance(*(f.item() for f in fields))
        return Provenance(*fields)

    # ---- properties ----

    @property
    def tile(self) -> Tuple[int, int]:
        """Patch size as (height, width)."""
        return self._core.tile

    @property
    def stride(self) -> Tuple[int, int]:
        """Step between windows in the sources, as (height, width)."""
        return self._core.stride

    @property
    def mode(self) -> str:
        """'gray' or 'rgb'."""
        return self._core.mode

    @property
    def transforms(self) -> Tuple[str, ...]:
        """The transforms stored, ascending: names from 'rot0' to 'flip-rot270'."""
        return tuple(self._core.transforms)

    @property
    def sources(self) -> Tuple[Source, ...]:
        """The source images that gave patches, in build order."""
        return tuple(Source(os.fsdecode(path), *rest) for path, *rest in self._core.sources)

    @property
    def path(self) -> Optional[str]:
        """The absolute path this library was opened from or last saved to; None if neither."""
        return self._path

    @property
    def patches(self) -> np.ndarray:
        """Read-only zero-copy view of the patches, uint8 (n, h, w) or (n, h, w, 3)."""
        return self._core.patches

    def __len__(self) -> int:
        return len(self._core)

    def __repr__(self) -> str:
        where = repr(self._path) if self._path else "in memory"
        return (
            f"<tessera.Library {len(self)} {self.mode} patches, tile {self.tile}, stride "
            f"{self.stride} (height, width), {' '.join(self.transforms)}, "
            f"{len(self._core.sources)} sources, {where}>"
        )

    # ---- pickling: by path ----

    def __reduce__(self) -> Tuple[Any, Tuple[str, int, int]]:
        if self._path is None:
            raise TypeError(
                f"cannot pickle a Library built in memory ({len(self)} patches): save it with "
                "lib.save(path) first; it then pickles as that path and workers memory-map it"
            )
        return (_reopen, (self._path, self._core.file_bytes, self._core.checksum))

    def __copy__(self) -> "Library":
        return self  # immutable

    def __deepcopy__(self, memo: Any) -> "Library":
        return self

    # ---- input checking ----

    def _target(self, target: ImageLike, max_pixels: int) -> np.ndarray:
        if isinstance(target, _PATH_TYPES):
            return _tessera.load_image(_existing_path(target), self.mode, max_pixels)
        return _pixels(target, "target")

    def _tiles(self, tiles: Any) -> np.ndarray:
        h, w = self.tile
        c = 1 if self.mode == "gray" else 3
        expected = "(n, h, w)" if c == 1 else "(n, h, w, 3)"
        expected += f" with h <= {h} and w <= {w}, or flattened (n, {h * w * c})"
        if not isinstance(tiles, np.ndarray):
            raise TypeError(
                f"tiles must be a numpy uint8 array {expected}, got {type(tiles).__name__}"
            )
        if tiles.dtype != np.uint8:
            raise TypeError(f"tiles must be uint8, got {tiles.dtype}; pixels are 0 to 255")
        if tiles.ndim == 2 and tiles.shape[1] == h * w * c:
            tiles = tiles.reshape((len(tiles), h, w) + ((c,) if c == 3 else ()))
        ok = tiles.ndim == (3 if c == 1 else 4) and (c == 1 or tiles.shape[3] == 3)
        if not ok or not (1 <= tiles.shape[1] <= h and 1 <= tiles.shape[2] <= w):
            raise ValueError(
                f"the library is {self.mode}: tiles must be {expected}, got {tiles.shape}"
            )
        return np.ascontiguousarray(tiles)


# Libraries unpickled in this process, by what was pickled: (the file's identity when opened,
# the Library). A worker that receives one many times maps it once, while the file stays the same.
_unpickled: dict = {}
_unpickled_lock = threading.Lock()


def _reopen(path: str, file_bytes: int, checksum: int) -> Library:
    """Unpickles a Library: the file at ``path`` must still hold the library pickled; one rebuilt
    or replaced since (a new identity) is opened anew and checked, every time."""
    key = (path, file_bytes, checksum)
    st = os.stat(path)
    identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _unpickled_lock:
        cached = _unpickled.get(key)
    if cached is not None and cached[0] == identity:
        return cached[1]
    lib = Library.open(path)
    if (lib._core.file_bytes, lib._core.checksum) != (file_bytes, checksum):
        raise Error(
            f"{path}: the file holds another library than the one pickled (it was rebuilt or "
            "replaced); open it again and pass the new Library"
        )
    with _unpickled_lock:  # unpickled in several threads at once (open releases the GIL)
        _unpickled.pop(key, None)
        _unpickled[key] = (identity, lib)
        while len(_unpickled) > 8:  # the oldest goes
            del _unpickled[next(iter(_unpickled))]
    return lib


# ---- argument checking shared by the methods ----


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _size(value: Any, what: str) -> Tuple[int, int]:
    pair = (value, value) if _is_int(value) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(_is_int(v) for v in pair)):
        raise TypeError(f"{what} must be an int or a (height, width) pair of ints, got {value!r}")
    limit = _tessera.MAX_TILE_SIDE if what == "tile" else 65536
    if not all(1 <= v <= limit for v in pair):
        raise ValueError(f"{what} {value!r} is out of range: each side must be 1 to {limit}")
    return int(pair[0]), int(pair[1])


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be True or False, got {value!r}")
    return bool(value)


def _max_pixels(value: Any) -> int:
    if not _is_int(value):
        raise TypeError(f"max_pixels must be an int, got {value!r}")
    if not 1 <= value < 2**64:
        raise ValueError(f"max_pixels must be 1 to 2**64 - 1, got {value}")
    return int(value)


def _mode(mode: Any) -> str:
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str, 'gray' or 'rgb', got {mode!r}")
    if mode not in ("gray", "rgb"):
        raise ValueError(f"mode must be 'gray' or 'rgb', got {mode!r}")
    return mode


def _threads(threads: Any) -> int:
    if threads is None:
        return 0
    if not _is_int(threads):
        raise TypeError(f"threads must be an int or None, got {threads!r}")
    if not 1 <= threads <= 4096:  # the CLI's --threads range
        raise ValueError(f"threads must be 1 to 4096 (None for all cores), got {threads}")
    return int(threads)


_PATH_TYPES = (str, bytes, os.PathLike)


def _path_bytes(path: Any) -> bytes:
    """The file name as the system takes it (the core's paths are bytes)."""
    if not isinstance(path, _PATH_TYPES):
        raise TypeError(f"a path must be str, bytes or os.PathLike, got {type(path).__name__}")
    return os.fsencode(path)


def _existing_path(path: Any) -> bytes:
    path = _path_bytes(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", os.fsdecode(path))
    return path


def _is_pil(obj: Any) -> bool:
    pil = sys.modules.get("PIL.Image")  # loaded if the caller has a PIL image at all
    return pil is not None and isinstance(obj, pil.Image)


def _image_items(images: Any) -> Iterable[Any]:
    if isinstance(images, _PATH_TYPES) or _is_pil(images):
        return [images]
    if isinstance(images, np.ndarray):
        # Not iterated: an (H, W, 3) image and a stack of (H, 3) images look the same.
        shape = images.shape
        one = len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3))
        stack = len(shape) in (3, 4)
        if not (one or stack):
            raise TypeError(
                "images must be a list of images (paths, PIL images or arrays), got an array "
                f"of shape {shape}"
            )
        advice = " or ".join(
            ["[array] for a single image"] * one
            + [f"list(array) for a stack of {shape[0]} images"] * stack
        )
        raise TypeError(f"images must be a list of images, not one array: pass {advice}")
    try:
        return iter(images)
    except TypeError:
        raise TypeError(
            f"images must be a path or an iterable of paths, PIL images and numpy arrays, "
            f"got {type(images).__name__}"
        ) from None


def _default_name(image: Any, index: int) -> str:
    if _is_pil(image):
        return getattr(image, "filename", "") or f"<image {index}>"
    return f"<array {index}>"


# PIL modes taken as they are, and those turned into one of them first (palette, alpha, CMYK...).
_PIL_GRAY_LIKE = {"1", "L", "LA", "La"}
_PIL_COLOUR = {"P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"}


def _pixels(image: Any, what: str) -> np.ndarray:
    """A PIL image or numpy array as a C-contiguous uint8 (H, W) or (H, W, 3) array."""
    return _pixel_maker(image, what)()


def _pixel_maker(image: Any, what: str) -> Callable[[], np.ndarray]:
    """Checks a PIL image or numpy array now and returns what makes it a C-contiguous uint8
    (H, W) or (H, W, 3) array later: the array itself if it is one, else a converted copy.
    build calls it in the image's turn, so that converted copies are made one at a time."""
    if _is_pil(image):
        if image.mode in _PIL_GRAY_LIKE:
            mode = "L"
        elif image.mode in _PIL_COLOUR:
            mode = "RGB"
        else:
            raise ValueError(
                f"{what}: PIL mode {image.mode!r} (16-bit or float) is not supported: pass the "
                "file path (decoded like the CLI) or convert it to 'L' or 'RGB'"
            )
        return lambda: np.asarray(image.convert(mode) if image.mode != mode else image)
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"{what} must be a path, a PIL image or a numpy uint8 array (H, W) or (H, W, 3), "
            f"got {type(image).__name__}"
        )
    if image.dtype != np.uint8:
        raise TypeError(
            f"{what} must be uint8 (H, W) or (H, W, 3), got dtype {image.dtype}; convert with "
            "np.clip(a, 0, 255).astype(np.uint8)"
        )
    if image.ndim == 3 and image.shape[2] == 4:
        raise ValueError(f"{what} has 4 channels: drop alpha with a[..., :3]")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))):
        raise ValueError(f"{what} must have shape (H, W) or (H, W, 3), got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{what} is empty: shape {image.shape}")
    return lambda: np.ascontiguousarray(image)
