"""What tessera.dask runs on the workers: opening a library or shard once per worker process,
mosaics of single targets, shard builds, shard searches. Importable without Dask (tasks look the
worker up only to name it in errors), so pickles name these functions as tessera._dask_tasks.X."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from . import _tessera
from ._library import Library
from ._pickle import open_cached
from ._tessera import Error


class LibraryFile(NamedTuple):
    """A library file as the client saw it: workers open it only if it still holds that library."""

    path: str  # absolute
    file_bytes: int
    checksum: int
    label: str  # how errors name it: "library" or "shard 3 of /x/manifest.json"


def where() -> str:
    """The worker running this task, for error messages."""
    try:
        from distributed import get_worker

        return f"worker {get_worker().address}"
    except (ImportError, ValueError):  # not on a Dask worker
        return f"process {os.getpid()}"


def open_library(spec: LibraryFile, local_dir: Optional[str] = None) -> Library:
    """The library ``spec`` names, opened once per worker process (memory-mapped; later tasks reuse
    it while the file stays the same). With ``local_dir``, the file is first copied there (once,
    atomically) and the copy is opened. Errors name the library, its path and the worker."""
    path = spec.path
    try:
        if local_dir is not None:
            path = _local_copy(spec, local_dir)
        size = os.stat(path).st_size
        if size != spec.file_bytes:
            raise Error(f"it has {size} bytes, not {spec.file_bytes}: it was rebuilt or replaced")
        return open_cached(
            path,
            spec.file_bytes,
            spec.checksum,
            f"its data checksum is not {spec.checksum:#018x}: it was rebuilt, replaced, or "
            "belongs to another library",
        )
    except FileNotFoundError:
        raise Error(f"{spec.label} {path} on {where()}: missing (no such file)") from None
    except (OSError, Error) as e:
        raise Error(f"{spec.label} {path} on {where()}: {e}") from None


def _local_copy(spec: LibraryFile, local_dir: str) -> str:
    """``spec``'s file copied into ``local_dir``, named by its checksum so that a changed library
    is copied anew; written to a temporary and renamed, so a copy is complete or absent."""
    name = f"{spec.checksum:016x}-{os.path.basename(spec.path)}"
    local = os.path.join(local_dir, name)
    if os.path.exists(local):
        return local
    os.makedirs(local_dir, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=local_dir)
    try:
        with os.fdopen(fd, "wb") as out, open(spec.path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 22)
        os.replace(temporary, local)
    except BaseException:
        os.unlink(temporary)
        raise
    return local


def mosaic(
    spec: LibraryFile,
    target: Any,
    output: Optional[str],
    options: Dict[str, Any],
    local_dir: Optional[str],
) -> Any:
    """One target's mosaic: written to ``output`` (tessera's writer: atomic, as the CLI's) and the
    path returned, or returned (the image, or a MosaicResult with return_matches)."""
    lib = open_library(spec, local_dir)
    result = lib.mosaic(target, **options)
    if output is None:
        return result
    image = result.image if options.get("return_matches") else result
    _tessera.save_image(os.fsencode(output), image)
    return output


def build_shard(files: Sequence[str], shard_path: str, options: Dict[str, Any]) -> Dict[str, Any]:
    """Builds one shard from ``files`` with Library.build and saves it (atomically) to
    ``shard_path``: returns what the manifest lists of it, and the parameters all shards share."""
    try:
        lib = Library.build(list(files), **options)
        lib.save(shard_path)
    except (OSError, Error) as e:
        raise Error(f"shard {shard_path} on {where()}: {e}") from None
    return {
        "patches": len(lib),
        "file_bytes": lib._core.file_bytes,
        "checksum": lib._core.checksum,
        "sources": len(lib.sources),
        "params": (lib.tile, lib.stride, lib.mode, lib.transforms),
    }


def search_shard(
    spec: LibraryFile,
    queries: Sequence[np.ndarray],
    k: int,
    threads: int,
    local_dir: Optional[str],
) -> List[Tuple[np.ndarray, np.ndarray]]:
    """The k nearest patches in one shard of each query array (local ids), nearest first."""
    lib = open_library(spec, local_dir)
    k = min(k, len(lib))
    return [lib.search(q, k=k, threads=threads) for q in queries]


def shard_patches(spec: LibraryFile, local_ids: np.ndarray, local_dir: Optional[str]) -> np.ndarray:
    """The pixels of the patches with these local ids in one shard."""
    return np.array(open_library(spec, local_dir).patches[local_ids])


def check_shard(spec: LibraryFile, local_dir: Optional[str]) -> int:
    """Opens one shard (which checks it) on a worker; returns its patch count."""
    return len(open_library(spec, local_dir))
