"""Interrupts, full disks, file size and memory limits, through the tessera command: one line
naming the problem, never a crash, and never a file left under the final name or a temporary
beside it (test_hostile_cli.py has the arguments, libraries and concurrency)."""
import os
import resource
import shutil
import signal
import subprocess

import pytest
from PIL import Image

import tessera_testing
from tessera_testing import assert_failed, noise
# library and work are fixtures.
from hostile_cli_testing import (library, mosaic_with_matches, noise_png, run,  # noqa: F401
                                 snapshot, work)


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
