#!/usr/bin/python3
"""The benchmark's real photographs: Debian's lomiri-wallpapers-16.04, fetched at benchmark time.

`apt-get download` (no root needed; it checks the file against the signed package index) and
`dpkg-deb -x` into a cache folder, once; nothing is vendored in the repository. The package's
DEP-5 copyright file gives each photograph's author and licence (CC-BY-4.0, CC-BY-SA-4.0, CC0),
which the benchmark report credits.

Run alone to fetch and list them: /usr/bin/python3 bench/photos.py [--cache DIR]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "lomiri-wallpapers-16.04"
PHOTO_FOLDER = Path("usr/share/backgrounds")
COPYRIGHT = Path("usr/share/doc") / PACKAGE / "copyright"
# Files of the package that are not photographs, left out of every workload.
NOT_PHOTOGRAPHS = {"umang_by_Abhishek_Mudgal.jpg": "a digital colour-gradient artwork"}
LICENCE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".pgm", ".ppm"}


def default_cache():
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tessera-bench"


def fetch(cache):
    """The folder of the package's photographs under `cache`, downloading and unpacking the
    package the first time. Unpacked beside the final folder and renamed into place, so an
    interrupted fetch leaves nothing that looks complete."""
    cache = Path(cache)
    unpacked = cache / PACKAGE
    if (unpacked / PHOTO_FOLDER).is_dir() and (unpacked / COPYRIGHT).is_file():
        return unpacked / PHOTO_FOLDER
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: fetching {PACKAGE} needs {tool} (Debian or Ubuntu); or pass --photos "
                     "DIR with photographs of your own")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=cache) as scratch:
        print(f"bench: downloading {PACKAGE} into {cache} (once)", flush=True)
        got = subprocess.run(["apt-get", "download", PACKAGE], cwd=scratch, capture_output=True,
                             text=True)
        debs = sorted(Path(scratch).glob(f"{PACKAGE}_*.deb"))
        if got.returncode != 0 or not debs:
            sys.exit(f"bench: `apt-get download {PACKAGE}` failed:\n{got.stderr.strip()}\n"
                     "If apt does not know the package, run `apt-get update` (Debian 12 or later "
                     "has it), or pass --photos DIR")
        tree = Path(scratch) / "tree"
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(tree)], check=True)
        if not (tree / COPYRIGHT).is_file():
            sys.exit(f"bench: {debs[0].name} has no {COPYRIGHT}")
        tree.rename(unpacked)
    return unpacked / PHOTO_FOLDER


def photographs(folder):
    """The photographs in `folder`, sorted by name, without the package's non-photographs."""
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith(".") and p.name not in NOT_PHOTOGRAPHS)


def parse_copyright(text):
    """Debian's machine-readable copyright file -> {file name: (copyright, licence)}."""
    credits = {}
    for paragraph in text.split("\n\n"):
        fields, last = {}, None
        for line in paragraph.splitlines():
            if line[:1] in (" ", "\t") and last:
                fields[last] += "\n" + line.strip()
            elif ":" in line:
                last, value = line.split(":", 1)
                fields[last] = value.strip()
        if "Files" in fields and "Copyright" in fields:
            for pattern in fields["Files"].split():
                credits[Path(pattern).name] = (" ".join(fields["Copyright"].split()),
                                               fields.get("License", "").split("\n")[0])
    return credits


def credits_for(folder, names):
    """{name: (copyright, licence)} for the photographs `names` in `folder`, from the package's
    copyright file when `folder` is the unpacked package; None when the folder has none."""
    parents = Path(folder).resolve().parents  # the package root is three levels above
    copyright_file = parents[2] / COPYRIGHT if len(parents) > 2 else None
    if copyright_file is None or not copyright_file.is_file():
        return None
    known = parse_copyright(copyright_file.read_text())
    missing = [n for n in names if n not in known]
    if missing:
        sys.exit(f"bench: {copyright_file} names no author for {', '.join(missing)}")
    return {n: known[n] for n in names}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", default=str(default_cache()), help="where the package is unpacked")
    args = parser.parse_args()
    from PIL import Image
    folder = fetch(args.cache)
    photos = photographs(folder)
    credits = credits_for(folder, [p.name for p in photos])
    print(f"{len(photos)} photographs in {folder}")
    for p in photos:
        with Image.open(p) as im:
            w, h = im.size
        holder, licence = credits[p.name]
        print(f"  {p.name:42} {w:5}x{h:<5} {w * h / 1e6:5.1f} MP  {licence:13} {holder}")
    for name, why in NOT_PHOTOGRAPHS.items():
        print(f"  left out: {name} ({why})")


if __name__ == "__main__":
    main()
