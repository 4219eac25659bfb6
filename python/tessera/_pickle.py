"""Unpickling a Library: re-opening its file, mapped once per process while the file stays the
same. A Library pickles as (path, file size, data checksum); see Library's documentation."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Dict, Tuple

from ._tessera import Error

if TYPE_CHECKING:
    from ._library import Library

# Libraries unpickled in this process, by what was pickled: (the file's identity when opened,
# the Library). A worker that receives one many times maps it once, while the file stays the same.
_unpickled: Dict[Tuple[str, int, int], Tuple[Tuple[int, int, int, int], Any]] = {}
_unpickled_lock = threading.Lock()


def _reopen(path: str, file_bytes: int, checksum: int) -> "Library":
    """Unpickles a Library: the file at ``path`` must still hold the library pickled; one rebuilt
    or replaced since (a new identity) is opened anew and checked, every time."""
    return open_cached(
        path,
        file_bytes,
        checksum,
        f"{path}: the file holds another library than the one pickled (it was rebuilt or "
        "replaced); open it again and pass the new Library",
    )


def open_cached(path: str, file_bytes: int, checksum: int, changed: str) -> "Library":
    """The library at ``path``, mapped once per process while the file stays the same; raises
    Error(``changed``) unless it has this size and data checksum (tessera.dask opens its
    libraries and shards through this too)."""
    from ._library import Library  # here: _library imports this module for Library.__reduce__

    key = (path, file_bytes, checksum)
    st = os.stat(path)
    identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _unpickled_lock:
        cached = _unpickled.get(key)
    if cached is not None and cached[0] == identity:
        return cached[1]
    lib = Library.open(path)
    if (lib._core.file_bytes, lib._core.checksum) != (file_bytes, checksum):
        raise Error(changed)
    with _unpickled_lock:  # unpickled in several threads at once (open releases the GIL)
        _unpickled.pop(key, None)
        _unpickled[key] = (identity, lib)
        while len(_unpickled) > 8:  # the oldest goes
            del _unpickled[next(iter(_unpickled))]
    return lib
