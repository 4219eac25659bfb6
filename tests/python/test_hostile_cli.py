"""Hostile arguments, damaged libraries, interrupts, full disks and concurrent readers, through the
tessera command: exit 2 for usage errors, 1 for failures (one line naming the problem), never a
signal, and never a file left under the final name or a temporary beside it."""
import fcntl
import functools
import os
import resource
import shutil
import signal
import stat
import subprocess

import numpy as np
import pytest
from PIL import Image

import tessera_testing
from tessera_testing import assert_failed, noise


# These tests look at how tessera fails: a run is not expected to succeed unless a test says so.
run = functools.partial(tessera_testing.run, check=False)


def leftovers(directory):
    """Temporaries (hidden files) and anything else than `keep` in the output directory."""
    return sorted(name for name in os.listdir(directory) if name.startswith("."))


def noise_png(path, height, width, seed=0):
    Image.fromarray(noise(height, width, seed=seed)).save(path)
    return path


@pytest.fixture
def work(tmp_path):
    noise_png(tmp_path / "a.png", 48, 64, 1)
    noise_png(tmp_path / "b.png", 40, 40, 2)
    (tmp_path / "out").mkdir()
    return tmp_path


@pytest.fixture
def library(tessera_bin, work):
    path = work / "lib.tsr"
    result = run(tessera_bin, "build", work / "a.png", work / "b.png", "-o", path, "--tile", "8",
                 "--rotations", "0,90,180,270", "-q")
    assert result.returncode == 0, result.stderr
    return path


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


# ---- Interrupts ----

@pytest.fixture(scope="module")
def big_sources(tmp_path_factory, data_dir):
    """Real photographs, enough for a build that runs for a second or more."""
    folder = tmp_path_factory.mktemp("sources")
    for name in sorted(os.listdir(data_dir)):
        if name.endswith((".png", ".jpg")):
            shutil.copy(data_dir / name, folder / name)
    return folder


def start_tessera(*arguments):
    """A tessera process with SIGINT at its default: a shell that runs pytest in the background
    starts it, and so its children, with SIGINT ignored, which tessera keeps on purpose."""
    return subprocess.Popen([str(a) for a in arguments], stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def long_build(tessera_bin, sources, output):
    return start_tessera(tessera_bin, "build", sources, "-o", output, "--tile", "16", "--stride",
                         "3", "--mode", "gray", "-q")


def interrupt_while_writing(start, out, output, message):
    """Sends SIGINT to the process `start()` makes once its temporary is in `out`: it must exit 1
    saying `message` and leave `out` empty. A run that finishes first is tried again."""
    for attempt in range(3):
        process = start()
        while process.poll() is None and not temporaries_in(process, out):
            pass
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
        if process.returncode == 0:  # it finished between the check and the signal
            output.unlink()
            continue
        assert process.returncode == 1, stderr
        assert message in stderr
        assert os.listdir(out) == []
        return
    pytest.fail("the process finished before the signal in every attempt")


def read_maps(pid):
    """The files a running process has mapped, as /proc lists them ('' once it has gone)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return f.read()
    except OSError:
        return ""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_while_decoding_leaves_nothing(tessera_bin, tmp_path, big_sources, sig):
    out = tmp_path / "out"
    out.mkdir()
    process = long_build(tessera_bin, big_sources, out / "lib.tsr")
    # Interrupt once a source image is mapped (decoding has begun) and before any output exists:
    # a state, not a delay.
    while process.poll() is None and str(big_sources) not in read_maps(process.pid):
        pass
    if process.poll() is not None or os.listdir(out):
        process.communicate(timeout=60)
        pytest.skip("the build got past decoding before it could be interrupted")
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert f"tessera: interrupted by {sig.name}; unfinished output removed" in stderr
    assert os.listdir(out) == []


def test_interrupt_on_a_terminal_replaces_the_status_line(tessera_bin, tmp_path, big_sources):
    """The message is a line of its own, not glued to the end of a half-drawn status line."""
    def interrupt_once_decoding(process, shown):
        if b"build: decoding" in shown and process.poll() is None and not interrupted:
            process.send_signal(signal.SIGINT)
            interrupted.append(True)

    interrupted = []
    code, statuses, rest = tessera_testing.run_on_terminal(
        tessera_bin, "build", big_sources, "-o", tmp_path / "lib.tsr", "--tile", 16, "--stride",
        3, "--mode", "gray", on_output=interrupt_once_decoding)
    if not interrupted:
        pytest.skip("the build ended before it could be interrupted")
    assert code == 1 and statuses, (statuses, rest)
    assert rest == "tessera: interrupted by SIGINT; unfinished output removed\n"
    assert not (tmp_path / "lib.tsr").exists()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGINT])
def test_a_signal_the_parent_ignored_stays_ignored(tessera_bin, tmp_path, big_sources, sig):
    """nohup ignores SIGHUP, a shell's background job SIGINT: the build must go on regardless."""
    def ignore():
        signal.signal(sig, signal.SIG_IGN)

    output = tmp_path / "lib.tsr"
    process = subprocess.Popen([tessera_bin, "build", str(big_sources), "-o", str(output),
                                "--tile", "16", "--stride", "3", "--mode", "gray", "-q"],
                               stderr=subprocess.PIPE, text=True, preexec_fn=ignore)
    while process.poll() is None and str(big_sources) not in read_maps(process.pid):
        pass
    if process.poll() is not None:
        process.communicate(timeout=60)
        pytest.skip("the build ended before the signal could be sent")
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert stderr == ""
    assert run(tessera_bin, "info", "--verify", output).returncode == 0


def test_a_closed_pipe_on_stderr_does_not_stop_the_work(tessera_bin, work, library):
    """`tessera build ... 2>&1 | head -1`: warnings and the summary fail to write (EPIPE), the
    library and the mosaic are still written and the exit status is 0."""
    (work / "bad1.png").write_bytes(b"not an image")
    (work / "bad2.png").write_bytes(b"not an image either")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first warning
    try:
        for args, output in [(["build", work, "-o", work / "out" / "lib.tsr", "--tile", "8"],
                              work / "out" / "lib.tsr"),
                             (["mosaic", library, work / "a.png", "-o", work / "out" / "m.png"],
                              work / "out" / "m.png")]:
            result = subprocess.run([tessera_bin, *map(str, args)], stderr=write_end, timeout=300)
            assert result.returncode == 0
            assert output.stat().st_size > 0
    finally:
        os.close(write_end)
    assert run(tessera_bin, "info", "--verify", work / "out" / "lib.tsr").returncode == 0

def temporaries_in(process, directory):
    """How many temporaries `process` has in `directory`: anonymous ones (O_TMPFILE, which /proc
    shows as 'DIRECTORY/#INODE (deleted)') and hidden names."""
    hidden = [name for name in os.listdir(directory) if name.startswith(".")]
    try:
        open_files = [os.readlink(f"/proc/{process.pid}/fd/{fd}")
                      for fd in os.listdir(f"/proc/{process.pid}/fd")]
    except OSError:  # it has gone, or closed a file meanwhile
        open_files = []
    return len(hidden) + sum(f.startswith(f"{directory}/#") for f in open_files)


def test_interrupt_while_writing_leaves_nothing(tessera_bin, tmp_path, big_sources):
    out = tmp_path / "out"
    out.mkdir()
    interrupt_while_writing(lambda: long_build(tessera_bin, big_sources, out / "lib.tsr"), out,
                            out / "lib.tsr", "interrupted by SIGINT")


def test_interrupt_while_writing_a_poster_leaves_nothing(tessera_bin, tmp_path, big_sources):
    """`tessera mosaic` writing a large poster (encoded band by band into its temporary)."""
    library = tmp_path / "photos.tsr"
    tessera_testing.run(tessera_bin, "build", "-o", library, "--whole", "--tile", "8",
                        "--render", "64", big_sources)
    out = tmp_path / "out"
    out.mkdir()
    interrupt_while_writing(
        lambda: start_tessera(tessera_bin, "mosaic", library, big_sources / "astronaut.png", "-o",
                              out / "poster.png", "--grid", "200", "-q"),
        out, out / "poster.png", "tessera: interrupted by SIGINT; unfinished output removed")


def test_sigkill_while_writing_leaves_no_temporary(tessera_bin, tmp_path, big_sources):
    """SIGKILL (the out-of-memory killer's signal) runs no handler: a named temporary stayed
    behind for ever. An anonymous one (O_TMPFILE: tmpfs, ext4) goes with the process."""
    out = tmp_path / "out"
    out.mkdir()
    try:
        os.close(os.open(out, os.O_TMPFILE | os.O_RDWR, 0o600))
    except OSError:
        pytest.skip("no O_TMPFILE on this file system: the temporary is named from the start")
    caught = 0
    for attempt in range(3):
        process = long_build(tessera_bin, big_sources, out / "lib.tsr")
        while process.poll() is None and not temporaries_in(process, out):
            pass
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)
        if process.returncode == 0:  # it finished between the check and the signal
            (out / "lib.tsr").unlink()
            continue
        assert process.returncode == -signal.SIGKILL
        assert os.listdir(out) == []
        caught += 1
        break
    assert caught > 0


# ---- Full disk and file size limits ----

@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB file system, or a skip when this process may not mount one."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
            capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_leaves_nothing(tessera_bin, work, library, tiny_disk):
    # A library the size estimate lets through (it leaves out the sources' names): 1 patch, but
    # 400 sources with long names, about 280 KB of them.
    names = work / ("d" * 200) / ("e" * 200)
    names.mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(names / "0.png")
    for i in range(1, 400):
        os.link(names / "0.png", names / f"{i:0>200}.png")
    result = run(tessera_bin, "build", names, "-o", tiny_disk / "lib.tsr", "--tile", "4")
    assert_failed(result, "lib.tsr: write failed: No space left on device")
    assert os.listdir(tiny_disk) == []
    # One larger than the free space is refused before any work.
    result = run(tessera_bin, "build", work / "a.png", "-o", tiny_disk / "lib.tsr", "--tile", "4",
                 "--stride", "1", "--rotations", "0,90,180,270", "--flips")
    assert_failed(result, "the library would take about ", " (21960 patches of 4x4 rgb), more "
                  "than the ", " free where ", "lib.tsr is written; use a larger stride")
    assert os.listdir(tiny_disk) == []
    noise_png(work / "big.png", 400, 400)
    result = run(tessera_bin, "mosaic", library, work / "big.png", "-o", tiny_disk / "m.png",
                 "--matches", tiny_disk / "m.json")
    assert result.returncode == 1 and "No space left on device" in result.stderr, result.stderr
    assert not (tiny_disk / "m.json").exists() and not (tiny_disk / "m.png").exists()
    assert [n for n in os.listdir(tiny_disk) if n.startswith(".")] == []


def test_file_size_limit_leaves_nothing(tessera_bin, work):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
    result = run(tessera_bin, "build", work / "a.png", "-o", work / "out" / "lib.tsr", "--tile", "4",
                 "--stride", "1", preexec_fn=limit)
    assert_failed(result, "lib.tsr: write failed: File too large")
    assert os.listdir(work / "out") == []


def mosaic_with_matches(tessera_bin, library, target, out, **kwargs):
    return run(tessera_bin, "mosaic", library, target, "-o", out / "m.png", "--matches",
               out / "m.json", "-q", **kwargs)


def snapshot(directory):
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}


def test_matches_that_cannot_be_written_leave_the_old_image_and_matches(tessera_bin, work,
                                                                        library):
    """The image is complete before the matches are written; it must wait for them."""
    out = work / "out"
    mosaic_with_matches(tessera_bin, library, work / "a.png", out, check=True)
    before = snapshot(out)
    # A flat target: a small image (the same patch everywhere) but 2,500 rows of matches.
    Image.new("RGB", (400, 400), (128, 128, 128)).save(work / "flat.png")

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
    result = mosaic_with_matches(tessera_bin, library, work / "flat.png", out, preexec_fn=limit)
    assert_failed(result, "m.json: write failed: File too large")
    assert snapshot(out) == before
    # An image that fails while libvips encodes it is reported as any other write.
    noise_png(work / "noise.png", 400, 400)
    result = mosaic_with_matches(tessera_bin, library, work / "noise.png", out, preexec_fn=limit)
    assert_failed(result, "m.png: write failed: File too large")
    assert snapshot(out) == before
    # Without the limit, the same run replaces both.
    mosaic_with_matches(tessera_bin, library, work / "flat.png", out, check=True)
    assert (out / "m.png").stat().st_size < 100_000 < (out / "m.json").stat().st_size


def test_interrupt_while_writing_matches_leaves_the_old_pair(tessera_bin, tmp_path, data_dir):
    # A source with a long name makes every row long: about 25 MB of matches, written after the
    # image is complete.
    deep = tmp_path
    for i in range(4):
        deep = deep / (str(i) * 250)
    deep.mkdir(parents=True)
    shutil.copy(data_dir / "coins.png", deep / "c.png")
    library = tmp_path / "lib.tsr"
    run(tessera_bin, "build", deep / "c.png", "-o", library, "--tile", "4", "--mode", "gray",
        "-q", check=True)
    Image.fromarray(noise(600, 600, channels=1)).save(tmp_path / "t.png")
    out = tmp_path / "out"
    out.mkdir()
    mosaic_with_matches(tessera_bin, library, data_dir / "coins.png", out, check=True)
    before = snapshot(out)
    caught = 0
    for attempt in range(3):
        process = subprocess.Popen([tessera_bin, "mosaic", str(library), str(tmp_path / "t.png"),
                                    "-o", str(out / "m.png"), "--matches", str(out / "m.json"),
                                    "-q"], stderr=subprocess.PIPE, text=True)
        # Interrupt once the matches' temporary exists: the image's is complete by then.
        while process.poll() is None and temporaries_in(process, out) < 2:
            pass
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        if process.returncode == 0:  # it finished between the check and the signal
            mosaic_with_matches(tessera_bin, library, data_dir / "coins.png", out, check=True)
            continue
        assert process.returncode == 1, stderr
        assert "interrupted by SIGINT" in stderr
        assert snapshot(out) == before
        caught += 1
        break
    assert caught > 0


@pytest.mark.skipif("TESSERA_SANITIZED" in os.environ,
                    reason="AddressSanitizer reserves terabytes of address space: no ulimit -v")
def test_a_mosaic_out_of_memory_says_where(tessera_bin, work):
    """9 million 1x1 tiles under a 600 MB address space: the one line names the phase and the
    target, not just 'out of memory'."""
    Image.fromarray(noise(3000, 3000, 1)).save(work / "big.png")
    lib = work / "one.tsr"
    run(tessera_bin, "build", "-q", "-o", lib, "--tile", 1, "--mode", "gray", work / "a.png")

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (600 << 20, 600 << 20))
    result = run(tessera_bin, "mosaic", lib, work / "big.png", "-o", work / "out" / "m.png",
                 check=False, preexec_fn=limit)
    line = assert_failed(result, "tessera: out of memory (mosaic: ")
    assert str(work / "big.png") in line, line
    assert os.listdir(work / "out") == []


@pytest.mark.skipif("TESSERA_SANITIZED" in os.environ,
                    reason="AddressSanitizer reserves terabytes of address space: no ulimit -v")
def test_a_library_too_big_for_memory_says_how_big_and_what_to_change(tessera_bin, work, data_dir):
    """58 GB of patches under a 4 GB address space: the one allocation is refused at once (nothing
    is touched), and the message gives the size and the options that make it smaller."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    result = run(tessera_bin, "build", data_dir / "astronaut.png", "-o", work / "out" / "lib.tsr",
                 "--tile", "128", "--stride", "1", "--rotations", "0,90,180,270", "--flips",
                 "--threads", "1", "--max-library-bytes", 10**12, "-q", preexec_fn=limit)
    assert_failed(result, "astronaut.png: out of memory: a library of 1185800 patches of 128x128 rgb "
                  "needs about 58.3 GB with the sources up to this one; use a larger stride, fewer rotations or flips, or a smaller tile")
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
