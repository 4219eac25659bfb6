"""Ctrl-C during a long call of the Python module raises KeyboardInterrupt from inside the native
call (not once it has ended) and leaves no file behind. Each case runs in a child process that
reports, through a profile hook, when the native call starts and whether it returned or raised;
the parent sends SIGINT once it has started: a state, not a delay."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import os
    import sys
    import numpy as np
    import tessera

    case, work, watched = sys.argv[1], sys.argv[2], sys.argv[3]
    rng = np.random.default_rng(0)

    def report(frame, event, arg):
        # The native call `watched` of tessera's extension: when it starts, how it ends.
        if event.startswith("c_") and getattr(arg, "__name__", None) == watched and \\
                getattr(arg, "__module__", None) == "tessera._tessera":
            print({"c_call": "started", "c_return": "returned",
                   "c_exception": "raised"}[event], flush=True)

    def progress(done, total):
        print("progress", done, total, flush=True)

    images = [rng.integers(0, 256, (1024, 1024), dtype=np.uint8) for _ in range(8)]
    try:
        sys.setprofile(report)
        if case == "build":  # the search index of 512,072 patches
            tessera.Library.build(images, tile=16, stride=4, mode="gray")
        elif case == "whole":  # photos decoded by threads other than this one
            tessera.Library.build(work + "/photos", whole=True, tile=8, render=32, threads=2,
                                  progress=progress)
        elif case == "from_patches":  # one source of 1,048,576 patches
            tessera.NearestNeighbors().fit(np.concatenate(images).reshape(-1, 64))
        elif case == "save":
            lib = tessera.Library.build(images, tile=16, stride=4, mode="gray")
            lib.save(work + "/out/lib.tsr")
        sys.setprofile(None)
        print("finished", flush=True)
    except KeyboardInterrupt:
        sys.setprofile(None)
        print("KeyboardInterrupt", flush=True)
""")


def default_sigint():
    """Python leaves SIGINT ignored when it starts ignored (pytest run as a background job of a
    shell): the child gets Python's usual KeyboardInterrupt whatever this process inherited."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(case, work, watched, when):
    """Runs CHILD's `case`, sends SIGINT at the first line `when` accepts; returns the lines.
    A signal that lands while the profile hook still runs Python code, before the native call,
    raises there (lines end "started", "KeyboardInterrupt"): that is tried again, twice."""
    for attempt in range(3):
        lines = interrupt_once(case, work, watched, when)
        if lines[-2:] != ["started", "KeyboardInterrupt"]:
            break
    return lines


def interrupt_once(case, work, watched, when):
    shutil.rmtree(work / "out", ignore_errors=True)
    (work / "out").mkdir()
    child = subprocess.Popen([sys.executable, "-c", CHILD, case, str(work), watched],
                             stdout=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    lines = []
    try:
        for line in child.stdout:
            lines.append(line.strip())
            if when(lines[-1]):
                child.send_signal(signal.SIGINT)
                break
        rest, _ = child.communicate(timeout=120)
    finally:
        child.kill()
        child.wait()
    return lines + rest.splitlines()


def started(line):
    return line == "started"


@pytest.mark.parametrize("case, watched", [("build", "finish"), ("from_patches", "add"),
                                           ("save", "save")])
def test_ctrl_c_stops_a_native_call_without_progress(tmp_path, case, watched):
    """The index build, the copy of a million patches and writing a library have no progress
    callback: their loops check for Ctrl-C themselves."""
    lines = interrupt(case, tmp_path, watched, started)
    assert lines[-2:] == ["raised", "KeyboardInterrupt"], lines
    assert os.listdir(tmp_path / "out") == []  # save: its temporary removed, nothing renamed


def test_ctrl_c_while_threads_decode_photos(tmp_path, data_dir):
    """A whole-photo build from files, decoded and resampled on threads other than the caller's,
    stops at the next photo."""
    photos = tmp_path / "photos"
    photos.mkdir()
    names = sorted(n for n in os.listdir(data_dir) if n.endswith((".png", ".jpg")))
    for i in range(300):
        name = names[i % len(names)]
        os.symlink(data_dir / name, photos / f"{i:03d}{os.path.splitext(name)[1]}")
    lines = interrupt("whole", tmp_path, "add", lambda line: line.startswith("progress 1 "))
    assert lines[-2:] == ["raised", "KeyboardInterrupt"], lines
    done = [int(line.split()[1]) for line in lines if line.startswith("progress")]
    assert max(done) < 300
