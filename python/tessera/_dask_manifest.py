"""The manifest of a sharded library: one small JSON file beside the shards, listing each with its
patch count, id offset, size and data checksum. Written atomically; read with every check that
needs no shard opened (the shards are opened and checked on the workers)."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Dict, List, NamedTuple, Tuple

from ._tessera import Error

FORMAT = "tessera sharded library"
VERSION = 1
NAME = "manifest.json"


class Shard(NamedTuple):
    """One shard as the manifest lists it. ``path`` is absolute (stored relative to the manifest's
    directory, so the directory may be moved or copied whole)."""

    path: str
    patches: int
    offset: int  # global id of its patch 0
    file_bytes: int
    checksum: int  # the library file's data checksum (its header's)
    sources: int


class Manifest(NamedTuple):
    path: str  # absolute
    tile: Tuple[int, int]
    stride: Tuple[int, int]
    mode: str
    transforms: Tuple[str, ...]
    shards: Tuple[Shard, ...]

    @property
    def patches(self) -> int:
        return sum(s.patches for s in self.shards)


def manifest_path(path: Any) -> str:
    """The manifest a path names: the file itself, or manifest.json in a directory."""
    path = os.path.abspath(os.fsdecode(path))
    return os.path.join(path, NAME) if os.path.isdir(path) else path


def write(manifest: Manifest) -> None:
    """Writes ``manifest`` to its path: a temporary in the same directory, renamed when complete."""
    directory = os.path.dirname(manifest.path)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "patches": manifest.patches,
        "tile": list(manifest.tile),
        "stride": list(manifest.stride),
        "mode": manifest.mode,
        "transforms": list(manifest.transforms),
        "shards": [
            {
                "file": os.path.relpath(s.path, directory),
                "patches": s.patches,
                "offset": s.offset,
                "file_bytes": s.file_bytes,
                "checksum": f"{s.checksum:016x}",
                "sources": s.sources,
            }
            for s in manifest.shards
        ],
    }
    fd, temporary = tempfile.mkstemp(prefix=f".{NAME}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(document, out, indent=1)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, manifest.path)
    except BaseException:
        os.unlink(temporary)
        raise


def read(path: Any) -> Manifest:
    """Reads and checks a manifest; raises FileNotFoundError, or Error naming the file and what
    is wrong with it."""
    path = manifest_path(path)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        document = json.loads(raw)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"not a manifest of a sharded tessera library (no format '{FORMAT}')")
        if document.get("version") != VERSION:
            raise ValueError(f"manifest version {document.get('version')!r}, not {VERSION}")
        shards: List[Shard] = []
        offset = 0
        for index, entry in enumerate(document["shards"]):
            shard = _shard(entry, os.path.dirname(path))
            if shard.offset != offset:
                raise ValueError(f"shard {index} starts at id {shard.offset}, not {offset}")
            offset += shard.patches
            shards.append(shard)
        if not shards or offset != document["patches"]:
            raise ValueError(f"its shards hold {offset} patches, not {document['patches']}")
        return Manifest(
            path,
            _pair(document["tile"]),
            _pair(document["stride"]),
            str(document["mode"]),
            tuple(str(t) for t in document["transforms"]),
            tuple(shards),
        )
    except (ValueError, KeyError, TypeError) as e:
        what = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        raise Error(f"{path}: corrupt or foreign manifest: {what}") from None


def _shard(entry: Dict[str, Any], directory: str) -> Shard:
    numbers = [entry[key] for key in ("patches", "offset", "file_bytes", "sources")]
    if not all(type(n) is int and n >= 0 for n in numbers) or numbers[0] == 0:
        raise ValueError(f"bad shard entry {entry!r}")
    return Shard(
        os.path.normpath(os.path.join(directory, str(entry["file"]))),
        numbers[0],
        numbers[1],
        numbers[2],
        int(entry["checksum"], 16),
        numbers[3],
    )


def _pair(value: Any) -> Tuple[int, int]:
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        raise ValueError(f"bad size {value!r}")
    return value[0], value[1]
