"""Inputs and outputs a careless user or an attacker may hand tessera (issue 17): images whose
samples are not 8- or 16-bit, file names holding terminal escapes, FIFOs and devices named like
images, outputs on read-only file systems or pipes, running out of memory in Python, and SIGKILL
in the middle of writing."""
import os
import socket
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import tessera_testing
from tessera_testing import assert_failed, noise, read_library

tessera = pytest.importorskip("tessera")
load_image = tessera._tessera.load_image


def run(binary, *args, **kwargs):
    return tessera_testing.run(binary, *args, check=False, **kwargs)


def write_tiff(path, pixels, photometric=None):
    """An uncompressed little-endian TIFF of `pixels` ((h, w) or (h, w, bands)) in its own numpy
    sample type: unsigned, signed, floating point or complex, as scientific tools write them."""
    a = np.ascontiguousarray(pixels)
    h, w = a.shape[:2]
    bands = 1 if a.ndim == 2 else a.shape[2]
    sample_format = {"u": 1, "i": 2, "f": 3, "c": 6}[a.dtype.kind]
    data = a.astype(a.dtype.newbyteorder("<")).tobytes()
    if photometric is None:
        photometric = 2 if bands >= 3 else 1
    short, long = 3, 4
    entries = [(256, long, [w]), (257, long, [h]), (258, short, [a.dtype.itemsize * 8] * bands),
               (259, short, [1]), (262, short, [photometric]), (273, long, [0]),
               (277, short, [bands]), (278, long, [h]), (279, long, [len(data)]),
               (284, short, [1]), (339, short, [sample_format] * bands)]
    extra_at = 8 + 2 + 12 * len(entries) + 4
    data_at = extra_at + sum(2 * len(v) for _, kind, v in entries if kind == short and len(v) > 2)
    ifd, extra = struct.pack("<H", len(entries)), b""
    for tag, kind, values in entries:
        values = [data_at] if tag == 273 else values
        packed = struct.pack("<%d%s" % (len(values), "H" if kind == short else "I"), *values)
        if len(packed) <= 4:
            ifd += struct.pack("<HHI", tag, kind, len(values)) + packed.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", tag, kind, len(values), extra_at + len(extra))
            extra += packed
    path.write_bytes(b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + extra + data)
    return path


# ---- Samples that are not 8- or 16-bit unsigned: read by their range, or refused ----

def ramp(dtype, low, high, shape=(24, 32)):
    return np.linspace(low, high, int(np.prod(shape))).reshape(shape).astype(dtype)


def test_float_tiff_from_pil_is_scaled_not_black(tmp_path):
    """PIL's mode "F" in 0..1 decoded to all black (a cast to 8 bits) with no error."""
    values = ramp(np.float32, 0, 1)
    Image.fromarray(values, "F").save(tmp_path / "f.tif")
    got = load_image(str(tmp_path / "f.tif"), "gray", 1 << 28)
    assert np.abs(got.astype(int) - np.rint(values * 255)).max() <= 1
    assert got.max() == 255


@pytest.mark.parametrize("dtype, low, high, scale", [
    (np.float32, 0, 1, 255), (np.float32, 0, 255, 1), (np.float32, 3, 200, 1), (np.int8, 0, 127, 1), (np.int16, 0, 255, 1),
    (np.int16, 0, 32767, 255 / 65535), (np.int32, 0, 65535, 255 / 65535),
    (np.uint32, 0, 255, 1), (np.uint32, 0, 65535, 255 / 65535),
])
def test_samples_are_read_by_their_range(tmp_path, dtype, low, high, scale):
    values = ramp(dtype, low, high)
    got = load_image(str(write_tiff(tmp_path / "x.tif", values)), "gray", 1 << 28)
    assert np.abs(got.astype(int) - np.rint(values.astype(np.float64) * scale)).max() <= 1


def test_rgb_floats_are_read_by_their_range(tmp_path):
    values = np.stack([ramp(np.float32, 0, 1), ramp(np.float32, 1, 0), ramp(np.float32, 0, .5)], 2)
    got = load_image(str(write_tiff(tmp_path / "x.tif", values)), "rgb", 1 << 28)
    assert np.abs(got.astype(int) - np.rint(values * 255)).max() <= 1


@pytest.mark.parametrize("values, problem", [
    (ramp(np.float32, -1, 1), "float samples from -1 to 1, outside the ranges"),
    (ramp(np.float32, 0, 1000), "float samples from 0 to 1000, outside the ranges"),
    (ramp(np.int16, -100, 100), "short samples from -100 to 100"),
    (ramp(np.int32, 0, 70000), "int samples from 0 to 70000"),
    (np.where(ramp(np.float32, 0, 1) > .5, np.nan, .2).astype(np.float32), "not finite numbers"),
])
def test_samples_without_one_reading_are_refused_with_advice(tessera_bin, tmp_path, values,
                                                             problem):
    path = write_tiff(tmp_path / "x.tif", values)
    with pytest.raises(tessera.Error, match="convert it to 8- or 16-bit") as error:
        load_image(str(path), "gray", 1 << 28)
    assert problem in str(error.value) and str(path) in str(error.value)
    assert_failed(run(tessera_bin, "build", path, "-o", tmp_path / "lib.tsr", "--tile", "8"),
                  problem)
    assert not (tmp_path / "lib.tsr").exists()


@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_double_and_complex_tiffs_are_refused(tmp_path, dtype):
    """libvips's TIFF loader refuses 64-bit samples itself; never a black image."""
    path = write_tiff(tmp_path / "x.tif", ramp(dtype, 0, 1))
    with pytest.raises(tessera.Error, match="cannot decode image"):
        load_image(str(path), "gray", 1 << 28)


# ---- File names reach the terminal escaped; the files tessera writes keep them ----

ESCAPES = "\x1b]0;owned\x07\x1b[31m"


def test_escape_sequences_in_names_do_not_reach_the_terminal(tessera_bin, tmp_path):
    images = tmp_path / "in"
    images.mkdir()
    good = images / f"a{ESCAPES}.png"
    Image.fromarray(noise(16, 16, seed=1)).save(good)
    (images / "b\x1b[2J.png").write_bytes(b"not an image")
    lib = tmp_path / "lib.tsr"
    result = run(tessera_bin, "build", images, "-o", lib, "--tile", "8")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "b\\x1b[2J.png: not a supported image format" in result.stderr
    assert read_library(lib).sources[0]["path"] == str(good)  # the library keeps the name
    info = run(tessera_bin, "info", lib, "--sources")
    assert info.returncode == 0, info.stderr
    assert "\x1b" not in info.stdout and "a\\x1b]0;owned\\x07\\x1b[31m.png" in info.stdout
    result = run(tessera_bin, "mosaic", lib, good, "-o", tmp_path / "m.png", "--matches",
                 tmp_path / "m.csv")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stderr
    assert f'"{good}"' in (tmp_path / "m.csv").read_text()  # as it is
    # Errors and usage errors: the names in them are escaped too.
    assert_failed(run(tessera_bin, "info", tmp_path / f"x{ESCAPES}.tsr"), "x\\x1b]0;owned")
    assert_failed(run(tessera_bin, "build", "-o", lib, f"--ti{ESCAPES}le", good), "\\x1b", code=2)
    code, statuses, rest = tessera_testing.run_on_terminal(
        tessera_bin, "build", images, "-o", tmp_path / f"o{ESCAPES}.tsr", "--tile", "8")
    assert code == 0 and "\x1b]" not in rest and not any("\x07" in s for s in statuses)


# ---- FIFOs, sockets and devices named like images are counted, never passed over ----

def test_special_files_named_like_images_are_warned_and_counted(tessera_bin, tmp_path):
    images = tmp_path / "in"
    (images / "x.png").mkdir(parents=True)  # a directory is walked as one
    Image.fromarray(noise(16, 16, seed=1)).save(images / "x.png" / "inside.png")
    os.mkfifo(images / "y.png")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(images / "z.jpg"))
    try:
        lib = tmp_path / "lib.tsr"
        result = run(tessera_bin, "build", images, "-o", lib, "--tile", "8")
        assert result.returncode == 0, result.stderr
        assert (f"tessera: warning: {images / 'y.png'}: is a named pipe (FIFO), not an image "
                "file; skipped") in result.stderr
        assert f"{images / 'z.jpg'}: is a socket, not an image file; skipped" in result.stderr
        assert "1 source used; skipped: 2 unreadable" in result.stderr
        assert [s["path"] for s in read_library(lib).sources] == [str(images / "x.png/inside.png")]
        assert_failed(run(tessera_bin, "build", images, "-o", lib, "--tile", "8", "--strict"),
                      f"{images / 'y.png'}: is a named pipe (FIFO), not an image file")
        with pytest.warns(UserWarning, match="is a named pipe"):
            tessera.Library.build([images], tile=8)
    finally:
        server.close()


# ---- Messages that say what is wrong and how to fix it ----

def test_read_only_file_system_is_named(tessera_bin, tmp_path):
    Image.fromarray(noise(16, 16, seed=1)).save(tmp_path / "a.png")
    (tmp_path / "ro").mkdir()
    script = (f"mount -t tmpfs -o ro tmpfs {tmp_path / 'ro'} && "
              f"exec {tessera_bin} build {tmp_path / 'a.png'} -o {tmp_path / 'ro/lib.tsr'}")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True)
    if "tessera" not in result.stderr:
        pytest.skip("no user namespace to mount a read-only file system in: " + result.stderr)
    assert_failed(result, f"cannot write in {tmp_path / 'ro'} (read-only file system)")


def test_output_to_a_pipe_says_why_and_what_to_do(tessera_bin, tmp_path):
    Image.fromarray(noise(16, 16, seed=1)).save(tmp_path / "a.png")
    result = run(tessera_bin, "build", tmp_path / "a.png", "-o", "/dev/stdout")  # stdout: a pipe
    assert_failed(result, "/dev/stdout (a symbolic link to /proc/self/fd/1): is a pipe, not a "
                  "regular file; tessera writes each output in full under a temporary name and "
                  "renames it into place, so it cannot write to a pipe, a terminal or a device: "
                  "give a file name")
    assert result.stdout == ""


@pytest.mark.skipif("TESSERA_SANITIZED" in os.environ,
                    reason="AddressSanitizer reserves terabytes of address space: no RLIMIT_AS")
def test_python_out_of_memory_is_memory_error_naming_the_phase(tmp_path):
    """A std::bad_alloc reached Python as a bare MemoryError('std::bad_alloc')."""
    script = textwrap.dedent("""
        import resource, numpy as np, tessera
        rng = np.random.default_rng(0)
        lib = tessera.Library.build([rng.integers(0, 256, (64, 64), np.uint8)], tile=8,
                                    mode="gray", threads=1)
        target = np.zeros((6000, 6000), np.uint8)
        lib.mosaic(target[:8, :8], threads=1)  # everything loaded and started
        with open("/proc/self/statm") as f:
            used = int(f.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + (16 << 20), resource.RLIM_INFINITY))
        try:
            lib.mosaic(target, threads=1)
        except MemoryError as e:
            print("MemoryError:", e)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "MemoryError: out of memory while making the mosaic"
