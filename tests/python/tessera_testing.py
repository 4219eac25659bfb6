"""Helpers for the CLI tests: run the tessera command and check how it failed, make noise images,
read a library file with numpy (the format is in src/library/file_format.hpp and
docs/architecture.md), cut patches the way the original Python workflow does."""

import ctypes
import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
from dataclasses import dataclass

import numpy as np
from PIL import Image

# The header (format 4) starts with these fields, then (offset, bytes) pairs for the sections
# (SECTIONS below), then the kind, fit, render width and height (u32 each) and the writer's
# version (16 bytes), and ends with the data and header checksums; its size is its third field.
HEADER_START = struct.Struct("<8sIIIIIIIIQQQ")
assert HEADER_START.size == 64
HEADER_END = struct.Struct("<IIII16sQQ")
SOURCE = struct.Struct("<QQIIII")
ORIGIN_DTYPE = np.dtype([("source", "<u4"), ("x", "<u4"), ("y", "<u4"), ("transform", "<u4")])
TRANSFORMS = ["rot0", "rot90", "rot180", "rot270", "flip", "flip-rot90", "flip-rot180", "flip-rot270"]


def run(binary, *args, check=True, env=None, timeout=300, **kwargs):
    """Runs tessera; returns the CompletedProcess (text mode). check: expect exit 0. env: variables
    set over this process's environment, None to unset one. kwargs go to subprocess.run (cwd,
    preexec_fn). The timeout turns a hang into a failure."""
    if env is not None:
        env = {**os.environ, **env}
        env = {k: v for k, v in env.items() if v is not None}
    proc = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=env, **kwargs)
    if check:
        assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr}"
    return proc


def run_on_terminal(binary, *args, columns=200, timeout=300, on_output=None):
    """Runs tessera with stderr on a pseudo-terminal `columns` wide, as a user at a terminal sees
    it. Returns the exit status, the status lines in the order shown (each is written over the
    last, after "\\r" and an erase to the end of the line) and what follows the last one.
    on_output(process, everything read so far) is called after each read."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    attributes = termios.tcgetattr(slave)
    attributes[1] &= ~termios.ONLCR  # keep "\n" as written
    termios.tcsetattr(slave, termios.TCSANOW, attributes)
    proc = subprocess.Popen([binary, *map(str, args)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    data = b""
    try:
        while True:
            assert select.select([master], [], [], timeout)[0], f"no output for {timeout} s"
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: tessera has exited and closed the terminal
                break
            if not chunk:
                break
            data += chunk
            if on_output:
                on_output(proc, data)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    returncode = proc.wait(timeout=timeout)
    parts = data.decode(errors="replace").split("\r\x1b[K")
    if len(parts) == 1:
        return returncode, [], parts[0]
    assert parts[0] == "", data  # nothing before the first status
    return returncode, parts[1:-1], parts[-1]


def usage_hint(args):
    """What follows a usage error: the help of the command given, if any."""
    command = str(args[1]) if len(args) > 1 else ""
    known = command in ("build", "mosaic", "info")
    return f"Run 'tessera {command + ' ' if known else ''}--help' for usage."


def assert_failed(proc, *fragments, code=1):
    """tessera failed as it should: exit `code` and one line 'tessera: ...' holding every fragment
    (for a usage error, exit 2, followed by the pointer to --help), with nothing else on stderr:
    no warning from a library underneath. Returns the line."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == (2 if code == 2 else 1), proc.stderr
    assert lines[0].startswith("tessera: "), proc.stderr
    if code == 2:
        assert lines[1] == usage_hint(proc.args), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def noise(height, width, channels=3, seed=0):
    """Uniform random pixels: an image no patch resembles."""
    rng = np.random.default_rng(seed)
    shape = (height, width, channels) if channels > 1 else (height, width)
    return rng.integers(0, 256, shape, dtype=np.uint8)


@dataclass
class LibraryFile:
    version: int
    tile: tuple  # (width, height)
    stride: tuple
    channels: int
    transform_mask: int
    sources: list  # dicts: path, file_bytes, content_hash, width, height
    origins: np.ndarray  # structured, ORIGIN_DTYPE
    patches: np.ndarray  # (count, height, width) gray or (count, height, width, 3)
    norms: np.ndarray
    kind: int = 0  # 0 windows, 1 whole photos
    fit: int = 0  # 0 crop, 1 pad, 2 stretch
    render: tuple = (0, 0)  # (width, height)
    writer: str = ""
    render_patches: np.ndarray = None  # as patches, at the render size; None when it is the tile's


def read_library(path):
    data = open(path, "rb").read()
    fields = HEADER_START.unpack_from(data, 0)
    magic, version, header_bytes, tw, th, sx, sy, channels, mask = fields[:9]
    patch_count, source_count, file_bytes = fields[9:12]
    assert magic == b"TESSERA\x1a" and file_bytes == len(data)
    assert HEADER_START.size + 16 * len(SECTIONS) + HEADER_END.size == header_bytes
    sections = struct.unpack_from("<" + "QQ" * len(SECTIONS), data, HEADER_START.size)
    at = lambda name: sections[2 * SECTIONS.index(name)]
    length = lambda name: sections[2 * SECTIONS.index(name) + 1]
    src_off, names_off, names_len, orig_off, pix_off, pix_len, norm_off = (
        at("sources"), at("names"), length("names"), at("origins"), at("pixels"),
        length("pixels"), at("norms"))
    kind, fit, rw, rh, writer = HEADER_END.unpack_from(data, header_bytes - HEADER_END.size)[:5]
    names = data[names_off : names_off + names_len]
    sources = []
    for i in range(source_count):
        fb, h, w, hh, no, nb = SOURCE.unpack_from(data, src_off + i * SOURCE.size)
        sources.append(dict(path=names[no : no + nb].decode(), file_bytes=fb, content_hash=h,
                            width=w, height=hh))
    origins = np.frombuffer(data, ORIGIN_DTYPE, patch_count, orig_off)
    shape = (patch_count, th, tw) + ((channels,) if channels == 3 else ())
    patches = np.frombuffer(data, np.uint8, pix_len, pix_off).reshape(shape)
    norms = np.frombuffer(data, "<u4", patch_count, norm_off)
    render_patches = None
    if length("render_pixels"):
        render_shape = (patch_count, rh, rw) + ((channels,) if channels == 3 else ())
        render_patches = np.frombuffer(data, np.uint8, length("render_pixels"),
                                       at("render_pixels")).reshape(render_shape)
    return LibraryFile(version, (tw, th), (sx, sy), channels, mask, sources, origins, patches, norms,
                       kind, fit, (rw, rh), writer.rstrip(b"\0").decode(), render_patches)


# Sections in file order: the library's five, then the search index's eight.
SECTIONS = ["sources", "names", "origins", "pixels", "render_pixels", "norms", "order", "sums",
            "spreads", "buckets", "tails", "blocks", "channels"]


def section(data, name):
    """(offset, bytes) of a section of the library file's bytes `data`."""
    return struct.unpack_from("<QQ", data, HEADER_START.size + 16 * SECTIONS.index(name))


def reseal(data):
    """Recomputes both checksums of the library file's bytes `data` (a bytearray) in place, as a
    careless tool or an attacker would after changing them (XXH3-64 from libxxhash itself)."""
    xxhash = ctypes.CDLL("libxxhash.so.0")
    xxhash.XXH3_64bits.restype = ctypes.c_uint64
    xxhash.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    header_bytes = struct.unpack_from("<I", data, 12)[0]
    body = bytes(data[header_bytes:])
    struct.pack_into("<Q", data, header_bytes - 16, xxhash.XXH3_64bits(body, len(body)))
    head = bytes(data[:header_bytes - 8])
    struct.pack_into("<Q", data, header_bytes - 8, xxhash.XXH3_64bits(head, len(head)))


def load(path, mode="L"):
    """An image as numpy, converted by PIL as the original workflow does."""
    with Image.open(path) as im:
        return np.asarray(im.convert(mode))


def transform(window, t):
    """numpy's convention, as tessera documents it: mirror left-right first, then rot90 t % 4."""
    return np.rot90(np.fliplr(window) if t >= 4 else window, t % 4)


def cut(image, tile, stride):
    """Every complete tile window on the stride grid, row-major; tile and stride are (w, h)."""
    (tw, th), (sx, sy) = tile, stride
    h, w = image.shape[:2]
    return [image[y : y + th, x : x + tw] for y in range(0, h - th + 1, sy)
            for x in range(0, w - tw + 1, sx)]


def visible_tiles(rows, target, tile):
    """Match rows grouped by the visible size of their tile (the full tile, the cropped right
    column, bottom row and corner): {(width, height): (rows, windows)}, the windows being each
    row's visible target pixels, flattened, in one array."""
    h, w = target.shape[:2]
    groups = {}
    for r in rows:
        groups.setdefault((min(tile, w - r["x"]), min(tile, h - r["y"])), []).append(r)
    return {(tw, th): (group, np.stack([target[r["y"] : r["y"] + th, r["x"] : r["x"] + tw].ravel()
                                        for r in group]))
            for (tw, th), group in groups.items()}


def files_in(directory):
    """Every entry in a directory, hidden ones included (temporary files start with a dot)."""
    return sorted(os.listdir(directory))


def read_matches_csv(path):
    import csv

    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("row", "col", "x", "y", "patch", "source_x", "source_y", "distance"):
            r[k] = int(r[k])
    return rows
