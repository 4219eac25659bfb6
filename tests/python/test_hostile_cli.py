"""Hostile arguments, damaged libraries and concurrent readers and writers, through the tessera
command: exit 2 for usage errors, 1 for failures (one line naming the problem), never a signal,
and never a file left under the final name or a temporary beside it."""
import fcntl
import os
import stat
import subprocess

import numpy as np
import pytest
from PIL import Image

import tessera_testing
from tessera_testing import assert_failed
# library and work are fixtures.
from hostile_cli_testing import (library, mosaic_with_matches, noise_png, run,  # noqa: F401
                                 snapshot, work)


# ---- Arguments: refused before any work, exit 2, output untouched ----

# One case a line: arguments -> the message that names the problem.
BAD_BUILD_ARGUMENTS = [(args.split(), message) for args, message in (line.split(" -> ") for line in """
--tile 0 -> invalid tile '0'
--tile -4 -> invalid tile '-4'
--tile abc -> invalid tile 'abc'
--tile 8x -> invalid tile '8x'
--tile 99999999999999 -> invalid tile '99999999999999': a side is too large
--stride 16x4294967295 -> invalid stride '16x4294967295': a side is too large
--tile 129 -> tile 129x129 is out of range
--tile 4096x4096 -> out of range
--stride 0 -> invalid stride '0'
--stride -1 -> invalid stride
--stride 70000 -> stride 70000x70000 is out of range
--tile 16x8 --rotations 0,90 -> need a square tile, not 16x8
--tile 8x16 --rotations 270 --flips -> need a square tile
--rotations 45 -> invalid rotation 45
--rotations 360 -> invalid rotation 360
--rotations -90 -> invalid rotation -90
--rotations 0, -> '0,' is not a comma-separated list of angles like 0,90
--rotations ,90 -> ',90' is not a comma-separated list of angles
--rotations 0,,180 -> '0,,180' is not a comma-separated list of angles
--threads 1.5 -> '1.5' is not a whole number from 0 to 4096
--max-pixels 0 -> --max-pixels
--max-pixels -5 -> --max-pixels
--max-pixels 1e9 -> --max-pixels
--max-pixels 123456789012345678901234 -> --max-pixels
--mode cmyk -> --mode
--rotations ninety -> --rotations
--no-such-flag -> --no-such-flag
""".strip().splitlines())]


@pytest.mark.parametrize("args, message", BAD_BUILD_ARGUMENTS)
def test_bad_build_arguments_are_usage_errors(tessera_bin, work, args, message):
    result = run(tessera_bin, "build", work / "a.png", "-o", work / "out" / "lib.tsr", *args)
    assert_failed(result, message, code=2)
    assert result.stdout == ""
    assert os.listdir(work / "out") == []


def test_bad_mosaic_arguments_are_usage_errors(tessera_bin, work, library):
    out = work / "out" / "m.png"
    for args in (["--threads", "-1"], ["--threads", "100000"], ["--threads", "many"],
                 ["--max-pixels", "0"], []):
        result = run(tessera_bin, "mosaic", library, work / "a.png", *args, *([] if not args else ["-o", out]))
        assert_failed(result, code=2)
        assert result.stdout == ""
    assert os.listdir(work / "out") == []


@pytest.mark.parametrize("command", [[], ["frobnicate"], ["build"], ["build", "a.png"],
                                     ["mosaic", "x.tsr"], ["info"], ["build", "a.png", "-o"],
                                     ["info", "a", "b"]])
def test_malformed_command_lines_are_usage_errors(tessera_bin, work, command):
    before = sorted(os.listdir(work))
    result = run(tessera_bin, *command, cwd=work)
    assert_failed(result, code=2)  # which names the command's own --help
    assert result.stdout == ""
    assert sorted(os.listdir(work)) == before


@pytest.mark.parametrize("command, message", [
    ([], "a command is required: build, mosaic or info"),
    (["mosiac", "lib.tsr", "a.png"], "unknown command 'mosiac'; the commands are build, mosaic and info"),
    (["--verbose", "build"], "unknown option '--verbose'; give a command first: build, mosaic or info"),
])
def test_missing_or_unknown_command_is_named(tessera_bin, work, command, message):
    before = sorted(os.listdir(work))
    result = run(tessera_bin, *command, cwd=work)
    assert assert_failed(result, code=2) == f"tessera: {message}"
    assert result.stdout == ""
    assert sorted(os.listdir(work)) == before


@pytest.mark.parametrize("command", [
    ["build", "-o", "", "a.png"],
    ["build", "-o", "out/x.tsr", ""],
    ["mosaic", "lib.tsr", "a.png", "-o", ""],
    ["mosaic", "lib.tsr", "a.png", "-o", "out/o.png", "--matches", ""],
    ["mosaic", "", "a.png", "-o", "out/o.png"],
    ["mosaic", "lib.tsr", "", "-o", "out/o.png"],
    ["info", ""],
])
def test_empty_paths_are_usage_errors(tessera_bin, work, library, command):
    """Refused when parsed, naming the option, instead of failing late naming nothing (-o '') or
    being ignored (--matches '')."""
    before = sorted(os.listdir(work))
    result = run(tessera_bin, *command, cwd=work)
    assert_failed(result, "an empty path; give a file name", code=2)
    assert sorted(os.listdir(work)) == before and os.listdir(work / "out") == []


def test_missing_and_unusable_outputs(tessera_bin, work, library):
    a, out, nowhere = work / "a.png", work / "out", work / "nowhere"
    missing_dir = "does not exist; create it first"
    # One case a line: the arguments, then what the message must hold.
    cases = [
        (["build", a, "-o", nowhere / "lib.tsr"], f"{nowhere / 'lib.tsr'}: ", missing_dir),
        (["build", a, "-o", a / "lib.tsr"], f"{a / 'lib.tsr'}: ", missing_dir),  # a file, not a folder
        (["build", a, "-o", out], f"{out}: is a directory"),
        (["build", a, "-o", a], str(a), "would overwrite the input"),
        (["build", work, "-o", a], str(a), "would overwrite the input"),  # a file inside an input folder
        (["build", a, work / "missing.png", "-o", out / "x.tsr"], "missing.png: no such file"),
        (["mosaic", library, a, "-o", a], str(a), "would overwrite the input"),
        (["mosaic", library, a, "-o", out / "m.png", "--matches", out / "m.png"],
         f"{out / 'm.png'}: matches are written as .csv or .json"),
        (["mosaic", library, a, "-o", out / "m.txt"], f"{out / 'm.txt'}: cannot tell the image format"),
        (["mosaic", library, a, "-o", out / "noext"], f"{out / 'noext'}: cannot tell the image format"),
        (["mosaic", library, a, "-o", nowhere / "m.png"], f"{nowhere / 'm.png'}: ", missing_dir),
        (["mosaic", library, a, "-o", a / "m.png"], f"{a / 'm.png'}: ", missing_dir),
        (["mosaic", library, a, "-o", out], f"{out}: is a directory"),
        # Matches that cannot be written stop the run before the image is written.
        (["mosaic", library, a, "-o", out / "m.png", "--matches", nowhere / "m.csv"],
         f"{nowhere / 'm.csv'}: ", missing_dir),
        (["mosaic", library, a, "-o", out / "m.png", "--matches", a / "m.csv"],
         f"{a / 'm.csv'}: ", missing_dir),
        (["mosaic", work / "missing.tsr", a, "-o", out / "m.png"],
         "missing.tsr: cannot open: No such file"),
        (["info", work / "missing.tsr"], "missing.tsr: cannot open: No such file"),
        (["mosaic", library, work / "missing.png", "-o", out / "m.png"], "missing.png"),
    ]
    before = sorted(os.listdir(work))
    image = a.read_bytes()
    for args, *fragments in cases:
        result = run(tessera_bin, *args)
        assert_failed(result, *fragments)
    assert sorted(os.listdir(work)) == before
    assert os.listdir(out) == []
    assert a.read_bytes() == image



def test_a_target_too_large_for_the_output_format_is_refused_before_the_search(tessera_bin, work,
                                                                            library):
    """JPEG and WebP limit each side, which libvips reported only after the whole search: the
    message names the output, the limit, the target and the formats without one."""
    out = work / "out"
    tall, wide = noise_png(work / "tall.png", 70000, 1), noise_png(work / "wide.png", 1, 17000)
    for target, output, limit in [(tall, "m.jpg", "JPEG images are at most 65500 pixels"),
                                  (wide, "m.WEBP", "WebP images are at most 16383 pixels")]:
        size = "x".join(map(str, Image.open(target).size))
        assert_failed(run(tessera_bin, "mosaic", library, target, "-o", out / output, "--matches",
                          out / "m.csv"),
                      f"{out / output}: {limit} wide and high, and the mosaic of {target} is {size}; "
                      "use .png or .tif")
    assert os.listdir(out) == []
    for target in tall, wide:
        assert run(tessera_bin, "mosaic", "-q", library, target, "-o", out / "m.png").returncode == 0

def test_long_output_names(tessera_bin, work, library):
    too_long = work / "out" / ("x" * 300 + ".tsr")
    assert_failed(run(tessera_bin, "build", work / "a.png", "-o", too_long),
                  "the file name is longer than 255 bytes")
    assert_failed(run(tessera_bin, "mosaic", library, work / "a.png", "-o", work / ("y" * 260 + ".png")),
                  "the file name is longer than 255 bytes")
    assert os.listdir(work / "out") == []
    longest = work / "out" / ("z" * 251 + ".tsr")  # the longest name allowed; its temporary fits too
    result = run(tessera_bin, "build", work / "a.png", "-o", longest, "-q")
    assert result.returncode == 0, result.stderr
    assert os.listdir(work / "out") == [longest.name]


def test_output_through_a_link_to_an_input_is_refused(tessera_bin, work, library):
    os.symlink(work / "a.png", work / "out" / "link.png")
    os.link(work / "a.png", work / "out" / "hard.png")
    for output in ("link.png", "hard.png"):
        result = run(tessera_bin, "mosaic", library, work / "a.png", "-o", work / "out" / output)
        assert_failed(result, "would overwrite the input")
    os.symlink(library, work / "out" / "lib.csv")
    result = run(tessera_bin, "mosaic", library, work / "a.png", "-o", work / "out" / "m.png",
                 "--matches", work / "out" / "lib.csv")
    assert_failed(result, "would overwrite the input")
    assert (work / "a.png").read_bytes() == (work / "out" / "hard.png").read_bytes()
    assert sorted(os.listdir(work / "out")) == ["hard.png", "lib.csv", "link.png"]


def test_two_outputs_that_are_one_file_are_refused(tessera_bin, work, library):
    """The matches must not replace the image: a link to it (dangling until the image exists),
    a link to a folder holding it, or a hard link to it once it exists."""
    out = work / "out"
    os.symlink("m.png", out / "to-image.csv")
    os.symlink(".", out / "here")
    (out / "here.csv").symlink_to(out / "here" / "m.png")
    for matches in ("to-image.csv", "here.csv"):
        result = run(tessera_bin, "mosaic", library, work / "a.png", "-o", out / "m.png",
                     "--matches", out / matches)
        assert_failed(result, f"{out / matches}: would overwrite the output {out / 'm.png'}")
        assert sorted(os.listdir(out)) == ["here", "here.csv", "to-image.csv"]
    result = run(tessera_bin, "mosaic", library, work / "a.png", "-o", out / "here" / "m.png",
                 "--matches", out / "to-image.csv")
    assert_failed(result, "would overwrite the output")
    assert run(tessera_bin, "mosaic", "-q", library, work / "a.png", "-o", out / "m.png").returncode == 0
    image = (out / "m.png").read_bytes()
    os.link(out / "m.png", out / "hard.csv")
    assert_failed(run(tessera_bin, "mosaic", library, work / "a.png", "-o", out / "m.png",
                      "--matches", out / "hard.csv"), "would overwrite the output")
    assert (out / "m.png").read_bytes() == image
    # Distinct files are written as before.
    result = run(tessera_bin, "mosaic", "-q", library, work / "a.png", "-o", out / "m.png",
                 "--matches", out / "m.csv")
    assert result.returncode == 0, result.stderr
    assert (out / "m.csv").read_text().startswith("row,")


def test_outputs_that_are_not_regular_files_are_refused(tessera_bin, work, library):
    """Renaming over a FIFO, a directory or a device would replace it: refused, link or not."""
    out = work / "out"
    os.mkfifo(out / "pipe.png")
    os.mkfifo(out / "pipe.csv")
    os.symlink("pipe.png", out / "to-pipe.tsr")
    os.symlink("nowhere/lib.tsr", out / "dangling.tsr")
    m = out / "m.png"
    fifo = "is a named pipe (FIFO), not a regular file"
    cases = [
        (["build", work / "a.png", "-o", out / "pipe.png"], f"{out / 'pipe.png'}: {fifo}"),
        (["build", work / "a.png", "-o", out / "to-pipe.tsr"],
         f"{out / 'to-pipe.tsr'} (a symbolic link to {out / 'pipe.png'}): {fifo}"),
        (["mosaic", library, work / "a.png", "-o", out / "pipe.png"], f"{out / 'pipe.png'}: {fifo}"),
        (["mosaic", library, work / "a.png", "-o", m, "--matches", out / "pipe.csv"],
         f"{out / 'pipe.csv'}: {fifo}"),
        (["build", work / "a.png", "-o", out / "dangling.tsr"],
         f"(a symbolic link to {out / 'nowhere/lib.tsr'}): the directory {out / 'nowhere'} "
         "does not exist"),
    ]
    for args, message in cases:
        assert_failed(run(tessera_bin, *args), message)  # a write to a FIFO would hang: timeout
    for name in ("pipe.png", "pipe.csv"):
        assert stat.S_ISFIFO(os.lstat(out / name).st_mode)
    assert sorted(os.listdir(out)) == ["dangling.tsr", "pipe.csv", "pipe.png", "to-pipe.tsr"]


def test_outputs_through_symbolic_links_are_written_through(tessera_bin, work, library):
    """The file a link names is replaced or created, and the link stays a link."""
    out = work / "out"
    (out / "libs").mkdir()
    (out / "libs" / "v1.tsr").write_bytes(b"old")
    os.symlink("libs/v1.tsr", out / "current.tsr")
    os.symlink("current.tsr", out / "chain.tsr")
    os.symlink("libs/m.png", out / "m.png")  # not there yet
    os.symlink(out / "libs" / "m.csv", out / "m.csv")
    result = run(tessera_bin, "build", work / "a.png", "-o", out / "chain.tsr", "--tile", "8", "-q")
    assert result.returncode == 0, result.stderr
    assert run(tessera_bin, "info", out / "libs" / "v1.tsr").returncode == 0
    result = run(tessera_bin, "mosaic", out / "current.tsr", work / "a.png", "-o", out / "m.png",
                 "--matches", out / "m.csv", "-q")
    assert result.returncode == 0, result.stderr
    assert Image.open(out / "libs" / "m.png").size == (64, 48)
    assert (out / "libs" / "m.csv").read_text().startswith("row,col,")
    links = {"chain.tsr": "current.tsr", "current.tsr": "libs/v1.tsr", "m.png": "libs/m.png",
             "m.csv": str(out / "libs" / "m.csv")}
    assert {name: os.readlink(out / name) for name in links} == links
    assert sorted(os.listdir(out)) == ["chain.tsr", "current.tsr", "libs", "m.csv", "m.png"]
    assert sorted(os.listdir(out / "libs")) == ["m.csv", "m.png", "v1.tsr"]


def read_only_directory(path):
    """A directory this process cannot write in, or None when that cannot be arranged."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        return path
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(path)],
                      capture_output=True).returncode != 0:
        return None
    return path


def test_unwritable_output_directory(tessera_bin, work, library):
    locked = read_only_directory(work / "locked")
    if locked is None:
        pytest.skip("running as root without permission to mount a read-only file system")
    try:
        for args in (["build", work / "a.png", "-o", locked / "lib.tsr"],
                     ["mosaic", library, work / "a.png", "-o", locked / "m.png"]):
            assert_failed(run(tessera_bin, *args), "cannot write in " + str(locked))
        assert os.listdir(locked) == []
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(locked)], check=True)
        else:
            locked.chmod(0o755)


# ---- Damaged libraries through the command ----

def damaged(library, tmp_path, name, change):
    data = bytearray(library.read_bytes())
    change(data)
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return path


def test_damaged_libraries_are_refused_by_name(tessera_bin, work, library):
    size = library.stat().st_size
    image = (work / "a.png").read_bytes()
    cases = {
        "empty.tsr": (lambda d: d.clear(), "is empty, not a tessera library"),
        "foreign.tsr": (lambda d: d.__setitem__(slice(None), image), "is not a tessera library"),
        "truncated.tsr": (lambda d: d.__delitem__(slice(size // 2, None)),
                          f"is truncated ({size // 2} of {size} bytes)"),
        "truncated-header.tsr": (lambda d: d.__delitem__(slice(100, None)),
                                 "is truncated (100 bytes, shorter than the header)"),
        "header.tsr": (lambda d: d.__setitem__(20, d[20] ^ 1), "header is corrupt"),
        "longer.tsr": (lambda d: d.extend(b"\0" * 10), "has 10 unexpected bytes at the end"),
    }
    for name, (change, message) in cases.items():
        path = damaged(library, work, name, change)
        assert_failed(run(tessera_bin, "info", path), str(path) + ": " + message)
        result = run(tessera_bin, "mosaic", path, work / "a.png", "-o", work / "out" / "m.png",
                     "--matches", work / "out" / "m.csv")
        assert_failed(result, str(path) + ": " + message)
    assert os.listdir(work / "out") == []


def test_flipped_data_byte_is_caught_by_verify_and_mosaic(tessera_bin, work, library):
    # The last byte is in the search index, past what open() checks (info succeeds); the checksum
    # covers it.
    path = damaged(library, work, "flipped.tsr", lambda d: d.__setitem__(-1, d[-1] ^ 0x10))
    assert run(tessera_bin, "info", path).returncode == 0
    assert_failed(run(tessera_bin, "info", "--verify", path), "data is corrupt (checksum mismatch)")
    result = run(tessera_bin, "mosaic", path, work / "a.png", "-o", work / "out" / "m.png")
    assert_failed(result, str(path), "data is corrupt")
    assert os.listdir(work / "out") == []
    assert "checksum    ok" in run(tessera_bin, "info", "--verify", library).stdout


def zero_pixels(data):
    at, size = tessera_testing.section(data, "pixels")
    data[at:at + size] = bytes(size)
    tessera_testing.reseal(data)


def change_a_tail(data):
    at, _ = tessera_testing.section(data, "tails")
    data[at] ^= 1  # within every maximum open() checks
    tessera_testing.reseal(data)


@pytest.mark.parametrize("change", [zero_pixels, change_a_tail])
def test_an_index_that_disagrees_with_its_pixels_is_refused(tessera_bin, work, library, change):
    """Checksums recomputed after the change: --verify passes, the search refuses the file with
    one line instead of aborting on an assertion (or answering inexactly)."""
    path = damaged(library, work, "crafted.tsr", change)
    assert "checksum    ok" in run(tessera_bin, "info", "--verify", path).stdout
    result = run(tessera_bin, "mosaic", path, work / "a.png", "-o", work / "out" / "m.png",
                 "--matches", work / "out" / "m.csv")
    assert_failed(result, f"{path}: search index disagrees with its patches; rebuild the library")
    assert os.listdir(work / "out") == []


def test_devices_and_fifos_are_refused_without_blocking(tessera_bin, work, library):
    os.mkfifo(work / "fifo.png")
    for args in (["build", "/dev/zero", "-o", work / "out" / "x.tsr"],
                 ["build", work / "fifo.png", "-o", work / "out" / "x.tsr"],
                 ["mosaic", library, "/dev/zero", "-o", work / "out" / "m.png"],
                 ["mosaic", work / "fifo.png", work / "a.png", "-o", work / "out" / "m.png"],
                 ["info", "/dev/zero"]):
        result = run(tessera_bin, *args)  # a hang would hit run()'s timeout
        assert_failed(result, "not a regular file")
    assert os.listdir(work / "out") == []


# (An image given as a library is the foreign case of test_damaged_libraries_are_refused_by_name.)
def test_a_library_is_not_an_image(tessera_bin, work, library):
    result = run(tessera_bin, "build", library, "-o", work / "out" / "x.tsr")
    assert_failed(result, "lib.tsr: not a supported image format")
    assert os.listdir(work / "out") == []




# ---- Concurrent readers ----

def test_many_processes_reading_one_library_agree(tessera_bin, work, library):
    noise_png(work / "target.png", 96, 120, 7)
    def mosaic(i, threads):
        return subprocess.Popen([tessera_bin, "mosaic", str(library), str(work / "target.png"),
                                 "-o", str(work / "out" / f"m{i}.png"),
                                 "--matches", str(work / "out" / f"m{i}.csv"),
                                 "--threads", str(threads), "-q"], stderr=subprocess.PIPE)
    processes = [mosaic(i, 1 + i % 2) for i in range(6)]
    for p in processes:
        assert p.wait(timeout=120) == 0, p.stderr.read()
        p.stderr.close()
    first = (work / "out" / "m0.csv").read_bytes()
    pixels = np.asarray(Image.open(work / "out" / "m0.png"))
    assert first.count(b"\n") == 1 + 12 * 15
    for i in range(1, 6):
        assert (work / "out" / f"m{i}.csv").read_bytes() == first
        assert np.array_equal(np.asarray(Image.open(work / "out" / f"m{i}.png")), pixels)


# ---- Concurrent writers ----

def test_concurrent_mosaics_to_the_same_outputs_leave_a_matching_pair(tessera_bin, work, library):
    """Two runs replacing the same image and matches: whichever commits last, its image and its
    matches stay together (the renames are under a lock on the directory), never mixed."""
    out = work / "out"
    noise_png(work / "t0.png", 64, 80, 11)
    noise_png(work / "t1.png", 48, 56, 12)
    expected = set()
    for target in ("t0.png", "t1.png"):
        mosaic_with_matches(tessera_bin, library, work / target, out, check=True)
        expected.add(tuple(snapshot(out).items()))
    assert len(expected) == 2
    for attempt in range(20):
        processes = [subprocess.Popen([tessera_bin, "mosaic", str(library), str(work / target),
                                       "-o", str(out / "m.png"), "--matches", str(out / "m.json"),
                                       "-q", "--threads", "1"], stderr=subprocess.PIPE)
                     for target in ("t0.png", "t1.png")]
        for p in processes:
            assert p.wait(timeout=120) == 0, p.stderr.read()
            p.stderr.close()
        assert tuple(snapshot(out).items()) in expected, f"mixed pair after attempt {attempt}"


def test_a_mosaic_waits_for_the_lock_on_its_output_directory(tessera_bin, work, library):
    """The lock other tessera processes take: held here, the run does all its work but replaces
    neither file until it is released."""
    out = work / "out"
    mosaic_with_matches(tessera_bin, library, work / "a.png", out, check=True)
    before = snapshot(out)
    directory = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(directory, fcntl.LOCK_EX)
        process = subprocess.Popen([tessera_bin, "mosaic", str(library), str(work / "b.png"),
                                    "-o", str(out / "m.png"), "--matches", str(out / "m.json"),
                                    "-q"], stderr=subprocess.PIPE)
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        assert snapshot(out) == before
    finally:
        os.close(directory)
    assert process.wait(timeout=60) == 0, process.stderr.read()
    process.stderr.close()
    assert snapshot(out) != before
