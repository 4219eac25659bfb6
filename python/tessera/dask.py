"""tessera on a Dask cluster (``distributed``): many targets, and libraries in shards.

    >>> from dask.distributed import Client
    >>> import tessera.dask as td
    >>> client = Client("tcp://scheduler:8786")        # or Client(LocalCluster())
    >>> paths = td.mosaic_many(client, "lib.tsr", targets, out_dir="out/")
    >>> shards = td.build_sharded(client, sources, "lib-shards/", shards=8, tile=16,
    ...                           rotations=(0, 90, 180, 270), mode="gray")
    >>> d, ids = shards.search(tiles, k=5)   # global ids: as one library built from all sources
    >>> out = shards.mosaic("target.png")    # the single library's mosaic, pixel for pixel

Data placement: library and shard files, and targets given as paths, must be on storage that
every worker (and the client) can read under the same absolute path; ``local_dir=`` copies
library files to each worker's own disk first. Targets given as arrays travel inside their tasks
(a rerun after a worker dies still has them); shard searches scatter their queries once, and
again if a worker died holding them. Every library file is opened once per worker process and
checked against its size and data checksum as the client saw them. Outputs are written by
tessera's writer (as ``tessera mosaic`` writes them): to a temporary file, renamed when
complete, so a worker killed mid-write leaves no partial file under a final name, and Dask's
rerun of the task writes the same bytes. Progress: ``progress=True`` shows
``distributed.progress``; the Dask dashboard shows the tasks too.

Command line: ``python3 -m tessera.dask --help``.
"""

from __future__ import annotations

import os
from typing import Any, List, Optional, Sequence

from . import _arguments, _dask_manifest, _dask_shards, _dask_tasks, _images, _tessera
from ._dask_shards import ShardedLibrary, merge
from ._dask_tasks import LibraryFile
from ._library import Library
from ._tessera import Error

__all__ = ["mosaic_many", "build_sharded", "open_sharded", "ShardedLibrary", "merge"]


def mosaic_many(
    client: Any,
    library: Any,
    targets: Sequence[Any],
    out_dir: Any = None,
    *,
    names: Optional[Sequence[str]] = None,
    suffix: str = ".png",
    threads: Optional[int] = 1,
    return_matches: bool = False,
    max_pixels: int = _tessera.DEFAULT_MAX_PIXELS,
    max_uses: Optional[int] = None,
    min_distance: Optional[int] = None,
    local_dir: Optional[str] = None,
    progress: bool = False,
) -> List[Any]:
    """One :meth:`tessera.Library.mosaic` task per target on ``client``'s workers; the results
    equal the local calls'.

    library : a library file's path (or an opened :class:`tessera.Library`), readable by every
        worker; each worker process maps it once.
    targets : paths (decoded on the workers), numpy uint8 arrays or PIL images (each sent inside
        its task, so that Dask can rerun it if its worker dies).
    out_dir : None (default) to return the mosaics (arrays, or MosaicResult with return_matches);
        a directory to write each to ``out_dir/<name><suffix>`` and return the paths written.
        Names: ``names`` if given, else a path target's file name without its extension, an
        array's index as 6 digits. The format follows ``suffix`` (default ".png"; the
        ``tessera mosaic`` formats).
    threads : threads per mosaic, default 1 (Dask runs one task per worker thread); None or 0
        for all cores. max_pixels, max_uses, min_distance, return_matches: as for
        Library.mosaic.
    local_dir : copy the library file into this directory on each worker first.
    progress : show ``distributed.progress`` while waiting.
    """
    lib = library if isinstance(library, Library) else Library.open(library)
    if lib.path is None:
        raise TypeError("library: a Library built in memory cannot be sent: save() it first")
    spec = LibraryFile(lib.path, lib._core.file_bytes, lib._core.checksum, "library")
    options = {
        "threads": _arguments.threads(threads),
        "return_matches": _arguments.flag(return_matches, "return_matches"),
        "max_pixels": _arguments.max_pixels(max_pixels),
        "max_uses": None if max_uses is None else _arguments.max_uses(max_uses),
        "min_distance": None if min_distance is None else _arguments.min_distance(min_distance),
    }
    targets = list(targets)
    # An array goes inside its task (to the scheduler, then to one worker): not scattered, as
    # scattered data dies with its worker and a rerun of the task would have nothing to read.
    inputs = [
        os.fsdecode(os.path.abspath(_arguments.existing_path(target)))
        if isinstance(target, _arguments.PATH_TYPES)
        else _images.image_pixels(target, f"targets[{i}]")
        for i, target in enumerate(targets)
    ]
    outputs = _output_paths(targets, inputs, out_dir, names, suffix, lib)
    futures = [
        client.submit(_dask_tasks.mosaic, spec, target, output, options, local_dir, pure=False)
        for target, output in zip(inputs, outputs)
    ]
    return _dask_shards._gather(client, futures, progress)


def _output_paths(
    targets: List[Any],
    inputs: List[Any],
    out_dir: Any,
    names: Optional[Sequence[str]],
    suffix: str,
    lib: Library,
) -> List[Optional[str]]:
    if out_dir is None:
        return [None] * len(targets)
    if names is None:
        names = [
            os.path.splitext(os.path.basename(t))[0] if isinstance(t, str) else f"{i:06d}"
            for i, t in enumerate(inputs)
        ]
    names = [os.fsdecode(n) for n in names]
    if len(names) != len(targets):
        raise ValueError(f"names: {len(names)} names for {len(targets)} targets")
    seen = {}
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(
                f"targets {seen[name]} and {i} would both be written to {name}{suffix}: give names="
            )
        seen[name] = i
    directory = os.path.abspath(os.fsdecode(out_dir))
    os.makedirs(directory, exist_ok=True)
    outputs = [os.path.join(directory, name + suffix) for name in names]
    # Refused here rather than on a worker: the CLI's checks for an output path.
    inputs_here = {os.path.realpath(t) for t in inputs if isinstance(t, str)}
    inputs_here.add(os.path.realpath(lib.path))
    for output in outputs:
        if os.path.realpath(output) in inputs_here:
            raise Error(f"{output}: would overwrite an input; choose another out_dir")
    return outputs


def build_sharded(
    client: Any,
    sources: Any,
    directory: Any,
    shards: int = 8,
    *,
    progress: bool = False,
    tile: Any = 16,
    stride: Any = None,
    rotations: Sequence[int] = (0,),
    flips: bool = False,
    mode: str = "rgb",
    transform_sources: bool = False,
    strict: bool = False,
    max_pixels: int = _tessera.DEFAULT_MAX_PIXELS,
    max_library_bytes: int = _tessera.DEFAULT_MAX_LIBRARY_BYTES,
    threads: Optional[int] = 1,
) -> ShardedLibrary:
    """Builds a library in ``shards`` shards on the workers, as one would be built from all of
    ``sources`` with the same options (:meth:`tessera.Library.build`'s; ``threads`` per shard
    build, default 1).

    sources : paths (files and directories) every worker can read. Directories are expanded here
        as ``tessera build`` expands them; the files, in order, are split into contiguous runs of
        equal count (fewer shards if there are fewer files). Every file is named to its shard's
        build, so one that cannot be decoded stops the build (a single build from the directory
        would skip it with a warning).
    directory : where ``shard-00000.tsr``... and ``manifest.json`` go (created if needed).
        Each shard is saved atomically, then the manifest (patch counts, id offsets, sizes, data
        checksums), atomically, once every shard is built.

    Returns the :class:`ShardedLibrary`; ``open_sharded(directory)`` opens it again later.
    """
    options = {
        "tile": _arguments.tile(tile),
        "stride": None if stride is None else _arguments.stride(stride),
        "rotations": tuple(_arguments.rotations(rotations)),
        "flips": _arguments.flag(flips, "flips"),
        "mode": _arguments.mode(mode),
        "transform_sources": _arguments.flag(transform_sources, "transform_sources"),
        "strict": _arguments.flag(strict, "strict"),
        "max_pixels": _arguments.max_pixels(max_pixels),
        "max_library_bytes": _arguments.max_library_bytes(max_library_bytes),
        "threads": _arguments.threads(threads),
    }
    return _dask_shards.build(client, sources, directory, shards, options, progress)


def open_sharded(
    path: Any, client: Any = None, *, local_dir: Optional[str] = None, check: bool = True
) -> ShardedLibrary:
    """Opens a sharded library from its manifest (the file, or the directory holding
    ``manifest.json``). ``client``: default, the current Dask client. ``check`` (default True):
    every shard is opened on its worker now and must have the size and data checksum the
    manifest lists; a missing, changed or foreign shard raises :class:`tessera.Error` naming
    the shard, its path and (when found there) the worker. ``local_dir``: copy each shard to
    this directory on the worker that searches it first."""
    if client is None:
        from distributed import get_client

        client = get_client()
    manifest = _dask_manifest.read(path)
    shards = ShardedLibrary(client, manifest, local_dir)
    if check:
        shards.check()
    return shards


if __name__ == "__main__":
    from ._dask_cli import main

    raise SystemExit(main())
