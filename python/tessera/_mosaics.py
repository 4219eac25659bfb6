"""Library.mosaic and Library.mosaic_many: rebuilding targets from a library (a base class of
tessera.Library, which holds the patches and the search state these read)."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterable, Iterator, Literal, Optional, Sized, Tuple, Union, overload

import numpy as np

from . import _arguments, _images, _progress, _tessera
from ._progress import ProgressLike
from ._types import ImageLike, MosaicResult, SizeLike


class Mosaics:
    """The mosaic methods of :class:`tessera.Library` (documented there)."""

    __slots__ = ()
    _core: _tessera.CoreLibrary
    mode: str

    # The return type follows return_matches, so type checkers accept res.psnr and out.shape.
    @overload
    def mosaic(
        self,
        target: ImageLike,
        threads: Optional[int] = ...,
        return_matches: Literal[False] = ...,
        max_pixels: int = ...,
        max_uses: Optional[int] = ...,
        grid: Optional[SizeLike] = ...,
        render_size: Optional[SizeLike] = ...,
        metric: str = ...,
        color: float = ...,
        blend: float = ...,
        report: Literal[False] = ...,
        progress: ProgressLike = ...,
        min_distance: Optional[int] = ...,
    ) -> np.ndarray: ...

    @overload
    def mosaic(
        self,
        target: ImageLike,
        threads: Optional[int],
        return_matches: Literal[True],
        max_pixels: int = ...,
        max_uses: Optional[int] = ...,
        grid: Optional[SizeLike] = ...,
        render_size: Optional[SizeLike] = ...,
        metric: str = ...,
        color: float = ...,
        blend: float = ...,
        report: Literal[False] = ...,
        progress: ProgressLike = ...,
        min_distance: Optional[int] = ...,
    ) -> MosaicResult: ...

    @overload
    def mosaic(
        self,
        target: ImageLike,
        threads: Optional[int] = ...,
        *,
        return_matches: Literal[True],
        max_pixels: int = ...,
        max_uses: Optional[int] = ...,
        grid: Optional[SizeLike] = ...,
        render_size: Optional[SizeLike] = ...,
        metric: str = ...,
        color: float = ...,
        blend: float = ...,
        report: Literal[False] = ...,
        progress: ProgressLike = ...,
        min_distance: Optional[int] = ...,
    ) -> MosaicResult: ...

    @overload
    def mosaic(
        self,
        target: ImageLike,
        threads: Optional[int] = ...,
        return_matches: bool = ...,
        max_pixels: int = ...,
        max_uses: Optional[int] = ...,
        grid: Optional[SizeLike] = ...,
        render_size: Optional[SizeLike] = ...,
        metric: str = ...,
        color: float = ...,
        blend: float = ...,
        report: bool = ...,
        progress: ProgressLike = ...,
        min_distance: Optional[int] = ...,
    ) -> Union[np.ndarray, MosaicResult, Tuple[Union[np.ndarray, MosaicResult], Dict[str, Any]]]: ...

    def mosaic(
        self,
        target: ImageLike,
        threads: Optional[int] = None,
        return_matches: bool = False,
        max_pixels: int = _tessera.DEFAULT_MAX_PIXELS,
        max_uses: Optional[int] = None,
        grid: Optional[SizeLike] = None,
        render_size: Optional[SizeLike] = None,
        metric: str = "rgb",
        color: float = 0.0,
        blend: float = 0.0,
        report: bool = False,
        progress: ProgressLike = None,
        min_distance: Optional[int] = None,
    ) -> Union[np.ndarray, MosaicResult, Tuple[Union[np.ndarray, MosaicResult], Dict[str, Any]]]:
        """Rebuild ``target`` from the library: cut it into tiles (left to right, top to bottom;
        edge tiles cropped), replace each with its nearest patch (exact squared L2).

        Parameters
        ----------
        target : a path (decoded like the CLI), a PIL image, or a numpy uint8 array (H, W) or
            (H, W, 3); converted to the library's mode.
        threads : worker threads, 0 to 4096; 0 or None for all cores. The result is the same
            for any count.
        return_matches : return a :class:`MosaicResult` (image, per-tile matches, PSNR, grid)
            instead of the image alone.
        max_pixels : refuse a target file with more pixels than this, like ``--max-pixels``.
        max_uses : place no patch in more than this many tiles, like ``--max-uses``: the
            assignment with the smallest total distance under that limit, proven optimal
            (:func:`tessera.assign` does the same from your own candidates). None for no limit,
            each tile taking its nearest patch. Raises :class:`tessera.Error` when
            ``max_uses * len(self)`` is below the tile count.
        min_distance : place no patch twice within this many tiles (Chebyshev distance on the
            grid), like ``--min-distance``: the optimal assignment (under ``max_uses``) repaired
            in row-major order, each tile that repeats one above or to its left taking its
            nearest patch that does not. None for no limit. Raises :class:`tessera.Error`, before
            any search, when a min(D + 1, rows) x min(D + 1, columns) window of tiles needs more
            distinct patches than the library has, and when the repair finds no patch for a
            tile; the constraint always holds in what is returned.
        grid : like ``--grid``: an int, the columns (rows follow the target's aspect ratio), or
            (rows, columns); the target is resampled (libvips) to that many cells of the tile
            size. None (default): cells at the target's own resolution.
        render_size : like ``--render-size``: int or (height, width), from the tile size up to
            the library's render size. None (default): the library's render size. The image
            returned is the target's (resampled) size scaled by render size / tile; the PSNR is
            that of the tiles at the match size.
        metric : 'rgb' (default) or 'lab', like ``--metric``: 'lab' matches on each pixel's
            CIELAB (D65) bytes (L*255/100, a+128, b+128, rounded), exactly; rgb libraries only.
            It converts the library's patches in memory on every call (a library's worth of
            memory and a pass over every patch).
        color : 0 to 1 (default 0), like ``--color``: each placed tile's colour moves this
            fraction toward its cell of the target (mean and standard deviation per CIELAB
            channel, Reinhard-style; the gray level for gray libraries). 0 leaves pixels untouched.
        blend : 0 to 1 (default 0), like ``--blend``: this fraction of the target mixed into the
            output (metapixel's "cheating"); 1 gives the target back.
        report : also return the quality report, ``(result, report)``: a dict with the keys
            of ``--report``'s JSON (psnr, ssim, compared, mean_ciede2000, cells,
            distinct_tiles, uses_histogram, assignment, metric, seconds); ``seconds`` has this call's
            phases (decode, lab, search, assign with max_uses, space with min_distance, render,
            report).
        progress : a callable ``(done, total)`` called with the tiles matched so far (0 first,
            then after each batch of up to 4096 tiles), or a ``tqdm`` instance to update.
            Ctrl-C raises KeyboardInterrupt at those same points.

        Edge tiles are cropped, so a target side shorter than the tile is one row or column of
        cropped tiles.

        Returns numpy uint8 (H, W) for a gray library, (H, W, 3) for rgb: the same pixels as
        ``tessera mosaic`` writes.
        """
        _arguments.flag(return_matches, "return_matches")
        want_report = _arguments.flag(report, "report")
        looks = dict(
            metric=_arguments.metric(metric, self._core),
            color=_arguments.fraction(color, "color"),
            blend=_arguments.fraction(blend, "blend"),
        )
        if grid is None:
            cells = (0, 0)
        elif _arguments.is_int(grid):
            cells = (0, int(grid))
        else:
            cells = _arguments._pair(grid, "grid")
        if grid is not None and (cells[1] < 1 or (not _arguments.is_int(grid) and cells[0] < 1)):
            raise _tessera.Error(f"grid {grid!r}: give columns or (rows, columns), each at least 1")
        start = time.perf_counter()
        pixels = _images.target_pixels(target, self.mode, _arguments.max_pixels(max_pixels))
        decode_seconds = time.perf_counter() - start
        image, matches, psnr, *measured = self._core.mosaic(
            pixels,
            _arguments.threads(threads),
            max_uses=_arguments.max_uses(max_uses),
            min_distance=_arguments.min_distance(min_distance),
            grid=cells,
            render_size=(0, 0) if render_size is None else _arguments._pair(render_size, "render_size"),
            max_pixels=_arguments.max_pixels(max_pixels),
            report=want_report,
            progress=_progress.reporter(progress),
            **looks,
        )
        result: Union[np.ndarray, MosaicResult] = image
        if return_matches:
            rows = int(matches["row"][-1]) + 1
            result = MosaicResult(image, matches, psnr, (rows, len(matches) // rows))
        if not want_report:
            return result
        quality = json.loads(measured[0])
        quality["seconds"] = {"decode": decode_seconds, **quality["seconds"]}
        return result, quality

    def mosaic_many(
        self,
        targets: Iterable[ImageLike],
        threads: Optional[int] = None,
        return_matches: bool = False,
        max_pixels: int = _tessera.DEFAULT_MAX_PIXELS,
        max_uses: Optional[int] = None,
        progress: ProgressLike = None,
        min_distance: Optional[int] = None,
    ) -> Iterator[Union[np.ndarray, MosaicResult]]:
        """Rebuild each of ``targets`` in turn, yielding its result in order: what
        :meth:`mosaic` returns for it with the same arguments (the same checks, messages and
        pixels), with the searcher made once for all of them.

        ``targets`` is any iterable of what :meth:`mosaic` takes, read one at a time (a generator
        that loads images keeps one in memory). ``progress`` (a callable ``(done, total)`` or a
        ``tqdm`` instance) counts targets: 0 first, then one more as each result is ready;
        ``total`` is ``len(targets)``, or None when ``targets`` has no length. The native work
        releases the GIL, so other threads run while a target is matched; a target that fails
        raises its :class:`tessera.Error` from the generator, after the results before it.
        """
        _arguments.flag(return_matches, "return_matches")
        report = _progress.reporter(progress)
        total = len(targets) if isinstance(targets, Sized) else None
        if report:
            report(0, total)
        for done, target in enumerate(targets, 1):
            result = self.mosaic(
                target,
                threads=threads,
                return_matches=return_matches,
                max_pixels=max_pixels,
                max_uses=max_uses,
                min_distance=min_distance,
            )
            if report:
                report(done, total)
            yield result
