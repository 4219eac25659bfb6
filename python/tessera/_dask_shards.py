"""A library in shards on Dask workers: building the shards, opening them (checked against the
manifest), and exact search and mosaic over all of them. Shard s holds global ids offset_s to
offset_s + patches_s - 1, in the order the sources were given, so the per-shard top k merged by
(distance, global id) is the single library's top k, ties included."""

from __future__ import annotations

import os
import warnings
from concurrent.futures import CancelledError
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _arguments, _dask_manifest, _dask_tasks, _images, _tessera
from ._dask_manifest import Manifest, Shard
from ._dask_tasks import LibraryFile
from ._tessera import Error
from ._tiles import tiles as cut_tiles
from ._tiles import untile


def expand_sources(sources: Any) -> List[str]:
    """Every image file the sources stand for, in build order (a directory as `tessera build`
    finds its files), as absolute paths: the unit the shards split."""
    if isinstance(sources, _arguments.PATH_TYPES):
        sources = [sources]
    files: List[str] = []
    for item in sources:
        if not isinstance(item, _arguments.PATH_TYPES):
            raise TypeError(
                f"sources must be paths that every worker can read, got {type(item).__name__}"
            )
        path = os.path.abspath(_arguments.existing_path(item))
        if not os.path.isdir(path):
            files.append(os.fsdecode(path))
            continue
        for found, problem in _tessera.find_images(path):
            if problem:  # skipped with this warning by a single build too
                warnings.warn(f"{os.fsdecode(found)}: {problem}; skipped", stacklevel=4)
            else:
                files.append(os.fsdecode(found))
    if not files:
        raise Error(f"no image files found in {', '.join(map(os.fsdecode, sources))}")
    return files


def split(files: Sequence[str], shards: int) -> List[Sequence[str]]:
    """``files`` in ``shards`` contiguous runs, in order, sizes differing by at most one."""
    count = min(shards, len(files))
    edges = [len(files) * i // count for i in range(count + 1)]
    return [files[a:b] for a, b in zip(edges, edges[1:])]


def build(
    client: Any,
    sources: Any,
    directory: Any,
    shards: int,
    options: Dict[str, Any],
    progress: bool,
) -> "ShardedLibrary":
    if not (_arguments.is_int(shards) and shards >= 1):
        raise Error(f"shards: {shards!r} is not a whole number of at least 1")
    runs = split(expand_sources(sources), int(shards))
    directory = os.path.abspath(os.fsdecode(directory))
    os.makedirs(directory, exist_ok=True)
    paths = [os.path.join(directory, f"shard-{i:05d}.tsr") for i in range(len(runs))]
    futures = [
        client.submit(_dask_tasks.build_shard, list(run), path, options, pure=False)
        for run, path in zip(runs, paths)
    ]
    built = _gather(client, futures, progress)
    shard_list, offset = [], 0
    for path, b in zip(paths, built):
        shard_list.append(
            Shard(path, b["patches"], offset, b["file_bytes"], b["checksum"], b["sources"])
        )
        offset += b["patches"]
    # Every shard was built with the same options: the first one's parameters are all of theirs.
    manifest = Manifest(
        os.path.join(directory, _dask_manifest.NAME), *built[0]["params"], tuple(shard_list)
    )
    _dask_manifest.write(manifest)
    return ShardedLibrary(client, manifest)


def _gather(client: Any, futures: List[Any], progress: bool) -> List[Any]:
    if progress:
        from distributed import progress as show_progress

        show_progress(futures)
    return client.gather(futures)


class ShardedLibrary:
    """A library split into shards, each opened and searched on a Dask worker; made by
    :func:`tessera.dask.build_sharded` or :func:`tessera.dask.open_sharded`. Global patch ids:
    shard offset + local id, in the order the sources were given. ``search`` and ``mosaic`` give
    what one library built from all the sources gives, ties included."""

    def __init__(self, client: Any, manifest: Manifest, local_dir: Optional[str] = None):
        self.client = client
        self.manifest = manifest
        self.local_dir = local_dir
        self._specs = [
            LibraryFile(s.path, s.file_bytes, s.checksum, f"shard {i} of {manifest.path}")
            for i, s in enumerate(manifest.shards)
        ]
        self._offsets = np.array([s.offset for s in manifest.shards], np.int64)

    @property
    def path(self) -> str:
        return self.manifest.path

    @property
    def tile(self) -> Tuple[int, int]:
        return self.manifest.tile

    @property
    def mode(self) -> str:
        return self.manifest.mode

    @property
    def shards(self) -> Tuple[Shard, ...]:
        return self.manifest.shards

    def __len__(self) -> int:
        return self.manifest.patches

    def __repr__(self) -> str:
        return (
            f"<tessera.dask.ShardedLibrary {len(self)} {self.mode} patches in "
            f"{len(self.shards)} shards, tile {self.tile}, {self.path!r}>"
        )

    def check(self) -> None:
        """Opens every shard on its worker, which checks its size and data checksum against the
        manifest; raises tessera.Error naming the shard, its path and the worker."""
        for i, shard in enumerate(self.manifest.shards):  # cheap checks here first
            try:
                size = os.stat(shard.path).st_size
            except FileNotFoundError:
                raise Error(f"shard {i} of {self.path}: {shard.path} is missing") from None
            if size != shard.file_bytes:
                raise Error(
                    f"shard {i} of {self.path}: {shard.path} has {size} bytes, not "
                    f"{shard.file_bytes}: it was changed or replaced"
                )
        self.client.gather(self._on_shards(_dask_tasks.check_shard, lambda i: (self.local_dir,)))

    def _on_shards(self, task: Any, arguments: Any, shards: Optional[Sequence[int]] = None) -> List[Any]:
        """Submits ``task(spec, *arguments(i))`` for each shard, preferring one worker per shard
        (round robin over the workers, sorted) so that each worker maps only its own shards; any
        worker may run it if that one is gone."""
        workers = sorted(self.client.scheduler_info()["workers"])
        indexes = range(len(self._specs)) if shards is None else shards
        return [
            self.client.submit(
                task,
                self._specs[i],
                *arguments(i),
                workers=[workers[i % len(workers)]] if workers else None,
                allow_other_workers=True,
                pure=False,
            )
            for i in indexes
        ]

    def _search_groups(
        self, groups: Sequence[np.ndarray], k: int, threads: int
    ) -> List[Tuple[np.ndarray, np.ndarray]]:
        """Each group of same-sized queries searched in every shard; merged exactly. The queries
        are scattered once; scattered data dies with its worker, so a search that lost them
        (its tasks cancelled) is submitted again, a few times."""
        for attempt in range(3):
            queries = self.client.scatter(list(groups), broadcast=False, hash=False)
            futures = self._on_shards(
                _dask_tasks.search_shard, lambda i: (queries, k, threads, self.local_dir)
            )
            try:
                per_shard = self.client.gather(futures)
                break
            except CancelledError:
                if attempt == 2:
                    raise
        return [
            merge([found[g] for found in per_shard], self._offsets, k) for g in range(len(groups))
        ]

    def search(
        self, tiles: np.ndarray, k: int = 5, threads: Optional[int] = 1
    ) -> Tuple[np.ndarray, np.ndarray]:
        """As :meth:`tessera.Library.search`, over every shard: ``(distances, ids)`` int64 (n, k),
        global ids, nearest first, ties to the lowest global id. ``threads`` per shard search
        (default 1: one per Dask worker thread)."""
        if not (_arguments.is_int(k) and 1 <= k <= len(self)):
            raise Error(f"k: {k!r} is not a whole number from 1 to {len(self)}")
        queries = _images.tiles_array(tiles, self.tile, self.mode)
        return self._search_groups([queries], int(k), _arguments.threads(threads))[0]

    def patches_at(self, ids: Any) -> np.ndarray:
        """The pixels of the patches with these global ids, uint8 (n, h, w[, 3]), fetched from
        the shards that hold them."""
        ids = np.asarray(ids, np.int64).ravel()
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise IndexError(f"patch ids must be 0 to {len(self) - 1}")
        shard_of = np.searchsorted(self._offsets, ids, side="right") - 1
        wanted = np.unique(shard_of)
        futures = self._on_shards(
            _dask_tasks.shard_patches,
            lambda i: (ids[shard_of == i] - self._offsets[i], self.local_dir),
            wanted.tolist(),
        )
        channels = () if self.mode == "gray" else (3,)
        pixels = np.empty((len(ids),) + self.tile + channels, np.uint8)
        for i, got in zip(wanted, self.client.gather(futures)):
            pixels[shard_of == i] = got
        return pixels

    def mosaic(
        self,
        target: Any,
        threads: Optional[int] = 1,
        max_pixels: int = _tessera.DEFAULT_MAX_PIXELS,
    ) -> np.ndarray:
        """As :meth:`tessera.Library.mosaic`: the same pixels as the single library's mosaic.
        Whole tiles, the right and bottom strips' cropped tiles and the corner are searched in
        every shard (edge tiles on their visible pixels), merged, and the winners' pixels fetched
        from their shards. ``target``: a path (decoded here), a PIL image or a uint8 array."""
        pixels = _images.target_pixels(target, self.mode, _arguments.max_pixels(max_pixels))
        h, w = self.tile
        height, width = pixels.shape[:2]
        rows, cols = height // h, width // w
        # Regions of equal tile size: (top, left, tile height, tile width, rows, cols).
        regions = [
            (0, 0, h, w, rows, cols),
            (0, cols * w, h, width - cols * w, rows, 1),
            (rows * h, 0, height - rows * h, w, 1, cols),
            (rows * h, cols * w, height - rows * h, width - cols * w, 1, 1),
        ]
        regions = [r for r in regions if r[2] and r[3] and r[4] and r[5]]
        groups = [
            cut_tiles(pixels[top : top + th * nr, left : left + tw * nc], (th, tw))[0]
            for top, left, th, tw, nr, nc in regions
        ]
        found = self._search_groups(groups, 1, _arguments.threads(threads))
        winners = np.concatenate([ids[:, 0] for _, ids in found])
        unique, where_in = np.unique(winners, return_inverse=True)
        patch_pixels = self.patches_at(unique)[where_in]
        out = np.empty_like(pixels)
        start = 0
        for (top, left, th, tw, nr, nc), group in zip(regions, groups):
            chosen = patch_pixels[start : start + len(group), :th, :tw]
            out[top : top + th * nr, left : left + tw * nc] = untile(chosen, (nr, nc))
            start += len(group)
        return out


def merge(
    found: Sequence[Tuple[np.ndarray, np.ndarray]], offsets: np.ndarray, k: int
) -> Tuple[np.ndarray, np.ndarray]:
    """The k best of the shards' answers (local ids) by (distance, global id): each shard's list
    is its own best by (distance, local id), which orders its global ids the same way."""
    distances = np.concatenate([d for d, _ in found], axis=1)
    ids = np.concatenate([local + offsets[s] for s, (_, local) in enumerate(found)], axis=1)
    order = np.lexsort((ids, distances))[:, :k]
    return (
        np.ascontiguousarray(np.take_along_axis(distances, order, axis=1)),
        np.ascontiguousarray(np.take_along_axis(ids, order, axis=1)),
    )
