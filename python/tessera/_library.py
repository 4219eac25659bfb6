"""tessera.Library: the patch library, its making, storing, searching and provenance."""

from __future__ import annotations

import os
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _arguments, _images, _progress, _tessera
from ._mosaics import Mosaics
from ._pickle import _reopen
from ._progress import ProgressLike
from ._tessera import Error
from ._types import ImageLike, PathLike, Provenance, SizeLike, Source

_TRANSFORM_NAMES = np.array(_tessera.TRANSFORM_NAMES)


class Library(Mosaics):
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
        transform_sources: bool = False,
        whole: bool = False,
        render: Optional[SizeLike] = None,
        fit: str = "crop",
        strict: bool = False,
        max_pixels: int = _tessera.DEFAULT_MAX_PIXELS,
        max_library_bytes: int = _tessera.DEFAULT_MAX_LIBRARY_BYTES,
        threads: Optional[int] = None,
        progress: ProgressLike = None,
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
        stride : int or (height, width), the step between windows, 1 to 65536 per side.
            Default: the tile.
        rotations : degrees counter-clockwise, any of 0, 90, 180, 270. Default (0,).
            90 and 270 need a square tile.
        flips : also store the left-right mirror of each rotation.
        mode : 'gray' or 'rgb' (a str; default 'rgb', like the CLI). Fixed for the library; images and
            targets are converted to it.
        transform_sources : False (default): cut the windows from each image, then rotate/flip
            each window. True: rotate/flip each whole image, then cut it on the grid from its
            top-left corner, like ``tessera build --transform-sources`` and like a script that
            cuts ``np.rot90(image, k)``; the two differ when an image side minus the tile is not
            a multiple of the stride. Either way :meth:`provenance` gives each patch's window in
            the source image as given, and its transform: the patch is that window transformed.
        whole : like ``tessera build --whole``: each image becomes one tile (EXIF orientation
            applied, resampled with libvips's antialiased thumbnail) instead of a grid of
            windows; any image size works. ``stride`` and ``transform_sources`` cut windows
            and are refused with it.
        render : with whole=True, int or (height, width): the size tiles are rendered at by
            :meth:`mosaic`, stored beside the tile, from the tile size up to 4096 per side.
            None (default): the tile size.
        fit : with whole=True, how an image gets the tile's aspect ratio: 'crop' (about the
            centre, the default), 'pad' (black bars) or 'stretch'.
        strict : fail (tessera.Error) on any undecodable or too-small image instead of skipping
            it with a warning, like ``tessera build --strict``.
        max_pixels : refuse image files with more pixels than this, from their header
            (decompression bombs); default 268435456, like ``--max-pixels``.
        max_library_bytes : refuse the build, before decoding, when the library would be larger
            than this, estimated from the image files' headers (arrays and PIL images in memory
            are not counted); default 8 GiB (8589934592), like ``--max-library-bytes``.
        threads : image files decoded at once, 0 to 4096; 0 or None for all cores, like
            ``--threads``. Patch ids do not depend on it.
        progress : a callable ``(done, total)`` called with the images added so far (0 first,
            then one more per image, from the decoding threads), or a ``tqdm`` instance.

        Returns the library, held in memory: ``save()`` it to reuse it or to pickle it.
        Raises TypeError for an argument of the wrong type, tessera.Error (a ValueError) for a
        value out of range, ValueError for a malformed image, FileNotFoundError for a missing
        path, tessera.Error for an undecodable file or when no image gives a patch.
        """
        tile_hw = _arguments.tile(tile)
        stride_hw = tile_hw if stride is None else _arguments.stride(stride)
        degrees = _arguments.rotations(rotations)
        whole = _arguments.flag(whole, "whole")
        if fit not in ("crop", "pad", "stretch"):
            raise _tessera.Error(f"fit must be 'crop', 'pad' or 'stretch', got {fit!r}")
        if whole and (stride is not None or transform_sources):
            raise _tessera.Error(
                f"{'stride' if stride is not None else 'transform_sources'} cuts windows; "
                "a whole=True library has one tile per image"
            )
        if not whole and (render is not None or fit != "crop"):
            raise _tessera.Error(
                f"{'render' if render is not None else 'fit'} applies to whole-photo libraries: "
                "add whole=True"
            )
        builder = _tessera.Builder(
            tile_hw,
            stride_hw,
            _arguments.mode(mode),
            degrees,
            _arguments.flag(flips, "flips"),
            _arguments.flag(transform_sources, "transform_sources"),
            whole,
            tile_hw if render is None else _arguments._pair(render, "render"),
            fit,
        )
        inputs = _images.build_inputs(images)
        builder.add(
            inputs,
            _arguments.flag(strict, "strict"),
            _arguments.max_pixels(max_pixels),
            _arguments.max_library_bytes(max_library_bytes),
            _arguments.threads(threads),
            progress=_progress.reporter(progress),
        )
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
    def from_patches(cls, patches: np.ndarray, tile: Optional[SizeLike] = None) -> "Library":
        """A library whose patch ``i`` is ``patches[i]``: patch ids are row numbers.

        ``patches``: a numpy array of uint8 (or of integers, every one 0 to 255): (n, h, w) gray
        or (n, h, w, 3) rgb patches, or flattened rows (n, D) as scikit-learn takes them, with
        ``tile=(h, w)`` saying their size: D = h * w for gray, 3 * h * w for rgb (pixels in
        row-major order, channels last, as ``reshape(n, -1)`` gives). Sides 1 to 128.

            >>> X = lib_a.patches.reshape(len(lib_a), -1)       # (n, 256) for 16x16 gray
            >>> lib = tessera.Library.from_patches(X, tile=16)
            >>> dist, ids = lib.search(queries, k=1)            # ids index the rows of X

        Provenance names the source ``<patches>``: row ``i`` is the window at x 0, y i * h of
        the patches stacked top to bottom, under ``rot0``. Held in memory: ``save()`` it to
        reuse it.
        """
        pixels = _images.integer_pixels(patches, "patches")
        if pixels.ndim == 2:
            if tile is None:
                raise TypeError(
                    f"patches of shape {pixels.shape} are flattened: give tile=(h, w), their size"
                )
            h, w = _arguments.tile(tile)
            if pixels.shape[1] not in (h * w, 3 * h * w):
                raise ValueError(
                    f"flattened {h}x{w} patches have {h * w} (gray) or {3 * h * w} (rgb) values "
                    f"per row, got {pixels.shape[1]}"
                )
            shape = (h, w) if pixels.shape[1] == h * w else (h, w, 3)
            pixels = pixels.reshape((len(pixels),) + shape)
        if not (pixels.ndim == 3 or (pixels.ndim == 4 and pixels.shape[3] == 3)):
            raise ValueError(
                f"patches must be (n, h, w), (n, h, w, 3) or flattened (n, D), got {pixels.shape}"
            )
        h, w = _arguments.tile(pixels.shape[1:3])
        if tile is not None and _arguments.tile(tile) != (h, w):
            raise ValueError(f"patches are {h}x{w} (height x width), not tile={tile!r}")
        if len(pixels) == 0:
            raise ValueError("patches is empty: a library needs at least one patch")
        mode = "gray" if pixels.ndim == 3 else "rgb"
        # One source, the patches stacked top to bottom, cut with stride = tile: window i is row i.
        stacked = np.ascontiguousarray(pixels).reshape((len(pixels) * h,) + pixels.shape[2:])
        builder = _tessera.Builder((h, w), (h, w), mode, [0], False, False)
        builder.add([(b"<patches>", lambda: stacked)], False, _tessera.DEFAULT_MAX_PIXELS,
                    _tessera.DEFAULT_MAX_LIBRARY_BYTES, 0)
        lib = cls._wrap(builder.finish(), None)
        lib._source_files = []
        return lib

    @classmethod
    def open(cls, path: PathLike) -> "Library":
        """Memory-map a library file written by :meth:`save` or ``tessera build``. Nothing is
        copied: pages are read on demand and shared by every process that opens the file.
        Raises FileNotFoundError, or tessera.Error if the file is not a valid library."""
        path = os.path.abspath(_arguments.existing_path(path))
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
        raw = _arguments.path_bytes(path)
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

    def search(
        self,
        tiles: np.ndarray,
        k: int = 5,
        threads: Optional[int] = None,
        progress: ProgressLike = None,
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The k nearest patches of each tile, exactly, nearest first (ties to the lowest id).

        Parameters
        ----------
        tiles : numpy uint8, (n, h, w) for a gray library or (n, h, w, 3) for rgb, with h and w
            at most the tile's (a smaller window is compared with the top-left h x w of every
            patch, as for the target's edge tiles). Flattened full tiles (n, tile pixels) are
            accepted too, as scikit-learn takes them.
        k : neighbours per tile, 1 to len(self).
        threads : worker threads, 0 to 4096; 0 or None for all cores.
        progress : a callable ``(done, total)`` called with the tiles searched so far (0 first,
            then after each chunk of up to 4096), or a ``tqdm`` instance. Ctrl-C raises
            KeyboardInterrupt at those same points.

        Returns ``(distances, ids)``, both int64 (n, k), distances first like scikit-learn's
        ``kneighbors`` and FAISS: distances are squared L2 (sklearn's distances squared).
        """
        k = _arguments.k(k, self._core)
        queries = _images.tiles_array(tiles, self.tile, self.mode)
        return self._core.search(
            queries, k, _arguments.threads(threads), progress=_progress.reporter(progress)
        )

    def provenance(self, ids: Any) -> Provenance:
        """Source path, source index, window position (x, y) and transform of each patch id.

        ``ids``: an int or an int array of any shape (e.g. the ids from :meth:`search`); every
        field of the returned :class:`Provenance` has that shape (an empty list gives empty
        fields). Raises IndexError for an id out of range.
        """
        ids = np.asarray(ids)
        # np.asarray([]) is float64; ints beyond int64 and uint64 are kept as Python objects.
        ints = ids.dtype.kind in "iu" or all(_arguments.is_int(i) for i in ids.flat)
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
    def kind(self) -> str:
        """'windows' (cut on a grid) or 'whole photos' (one tile per photo: ``whole=True``)."""
        return self._core.kind

    @property
    def render(self) -> Tuple[int, int]:
        """The size :meth:`mosaic` renders tiles at, as (height, width): the tile size unless a
        whole-photo library was built with a larger ``render``."""
        return self._core.render

    @property
    def fit(self) -> Optional[str]:
        """How a whole-photo library's images got the tile's shape ('crop', 'pad' or 'stretch');
        None for a window library."""
        return self._core.fit

    @property
    def writer(self) -> str:
        """The version of tessera that wrote the library file (this one's, for a library built
        in memory), as ``tessera info`` shows it."""
        return self._core.writer

    @property
    def format_version(self) -> int:
        """The version of the library file format, as ``tessera info`` shows it."""
        return self._core.format_version

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
