#!/usr/bin/env python3
"""Checks tessera's include rule (docs/architecture.md): each layer includes only its own private
headers and the public headers (tessera/<layer>/...) of layers at or below it.

Usage: check_layers.py [ROOT]   (default: the checkout this script is in)
Prints one line per violation and exits 1 when there is any, 0 otherwise.
"""

import pathlib
import re
import sys

# Lowest first. A layer may include the public headers of any layer before it in this list.
LAYERS = ["core", "library", "search", "mosaic", "io", "pipeline", "cli", "python"]
RANK = {name: rank for rank, name in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)
SUFFIXES = {".cpp", ".hpp", ".h", ".cc"}


def layer_of(root: pathlib.Path, path: pathlib.Path):
    """The layer a source file belongs to, or None for files outside the layers (tests...)."""
    parts = path.relative_to(root).parts
    if parts[:1] == ("src",) and len(parts) > 2 and parts[1] in RANK:
        return parts[1]
    if parts[:2] == ("include", "tessera") and len(parts) > 3 and parts[2] in RANK:
        return parts[2]
    if parts[:1] == ("python",):
        return "python"
    return None


def violations(root: pathlib.Path):
    files = [p for top in ("src", "include", "python") for p in sorted((root / top).rglob("*"))
             if p.suffix in SUFFIXES and p.is_file()]
    for path in files:
        layer = layer_of(root, path)
        if layer is None:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            included = match.group(1)
            parts = included.split("/")
            where = f"{path.relative_to(root)}:{number}"
            if parts[0] == "tessera" and len(parts) > 2:
                target = parts[1]
                if target not in RANK:
                    yield f"{where}: includes {included}, which is in no layer"
                elif RANK[target] > RANK[layer]:
                    yield (f"{where}: the {layer} layer includes {included} from the higher "
                           f"{target} layer")
            elif parts[0] in RANK and len(parts) > 1:
                if parts[0] != layer:
                    yield (f"{where}: the {layer} layer includes {included}, a private header "
                           f"of the {parts[0]} layer; include its public tessera/ header instead")
            elif len(parts) == 1:
                # A header beside the file: fine within one layer's folder.
                if not (path.parent / included).exists():
                    yield f"{where}: includes {included}, which is not beside it"
            else:
                yield f"{where}: includes {included}, which is in no layer"


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else __file__).resolve()
    if len(sys.argv) <= 1:
        root = root.parent.parent
    found = list(violations(root))
    for line in found:
        print(line)
    if found:
        print(f"check_layers: {len(found)} include(s) break the layer rule", file=sys.stderr)
        return 1
    print(f"check_layers: includes follow the layer rule ({' < '.join(LAYERS)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
