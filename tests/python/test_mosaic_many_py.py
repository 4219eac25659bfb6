"""Library.mosaic_many: each result what mosaic gives for its target, in order; progress= as a
callable or a tqdm instance on build, mosaic, mosaic_many and search (search in chunks, equal to
the oracle); Ctrl-C during a mosaic or a search raises KeyboardInterrupt before the call ends."""

import io
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tessera
from tqdm import tqdm

from tessera_testing import noise


@pytest.fixture(scope="module")
def library(data_dir):
    return tessera.Library.build([data_dir / "brick.png", data_dir / "coins.png"], tile=8,
                                 stride=8, mode="gray")


def targets(data_dir):
    rng = np.random.default_rng(3)
    return [data_dir / "horse.png", rng.integers(0, 256, (37, 53), dtype=np.uint8),
            noise(20, 30, seed=1)]


def test_mosaic_many_equals_one_by_one(library, data_dir):
    many = list(library.mosaic_many(targets(data_dir), return_matches=True, threads=2))
    assert len(many) == 3
    for target, result in zip(targets(data_dir), many):
        alone = library.mosaic(target, return_matches=True)
        np.testing.assert_array_equal(result.image, alone.image)
        np.testing.assert_array_equal(result.matches, alone.matches)
        assert result.psnr == alone.psnr
    images = list(library.mosaic_many(iter(targets(data_dir))))
    for image, result in zip(images, many):
        np.testing.assert_array_equal(image, result.image)


def test_mosaic_many_progress_and_failure(library, data_dir, tmp_path):
    calls = []
    results = library.mosaic_many(targets(data_dir), progress=lambda d, t: calls.append((d, t)))
    assert calls == []  # a generator: nothing runs before the first result is asked for
    next(results)
    assert calls == [(0, 3), (1, 3)]
    list(results)
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    calls.clear()
    list(library.mosaic_many(iter(targets(data_dir)), progress=lambda d, t: calls.append((d, t))))
    assert calls == [(0, None), (1, None), (2, None), (3, None)]
    # A failing target raises what mosaic raises for it, after the results before it.
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    for bad in (broken, tmp_path / "nosuch.png"):
        results = library.mosaic_many([data_dir / "horse.png", bad])
        next(results)
        with pytest.raises(Exception) as many_error:
            next(results)
        with pytest.raises(Exception) as alone_error:
            library.mosaic(bad)
        assert type(many_error.value) is type(alone_error.value)
        assert str(many_error.value) == str(alone_error.value)
    assert type(many_error.value) is FileNotFoundError
    results = library.mosaic_many([broken])
    with pytest.raises(tessera.Error, match="broken.png"):
        next(results)


def test_progress_takes_a_tqdm_instance(library, data_dir):
    with tqdm(file=io.StringIO()) as bar:
        list(library.mosaic_many(targets(data_dir), progress=bar))
        assert (bar.n, bar.total) == (3, 3)
    target = np.zeros((100, 90), dtype=np.uint8)  # 13 x 12 tiles
    with tqdm(file=io.StringIO()) as bar:
        library.mosaic(target, progress=bar)
        assert (bar.n, bar.total) == (156, 156)
    with pytest.raises(TypeError, match="progress must be a callable"):
        library.mosaic(target, progress=3)


def test_mosaic_progress_counts_tiles_and_can_stop_it(library):
    target = np.zeros((8 * 100, 8 * 90), dtype=np.uint8)  # 9000 tiles: batches of 4096
    calls = []
    library.mosaic(target, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 9000), (4096, 9000), (8192, 9000), (9000, 9000)]

    def stop(done, total):
        if done > 0:
            raise ValueError("stopped by the callback")

    with pytest.raises(ValueError, match="stopped by the callback"):
        library.mosaic(target, progress=stop)


def test_search_in_chunks_with_progress(library):
    rng = np.random.default_rng(5)
    tiles = rng.integers(0, 256, (9000, 8, 8), dtype=np.uint8)
    calls = []
    distances, ids = library.search(tiles, k=2, threads=2,
                                    progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 9000), (4096, 9000), (8192, 9000), (9000, 9000)]
    oracle = library._core.search(tiles, 2, 2, bruteforce=True)
    np.testing.assert_array_equal(distances, oracle[0])
    np.testing.assert_array_equal(ids, oracle[1])
    with tqdm(file=io.StringIO()) as bar:
        library.search(tiles[:10], k=1, progress=bar)
        assert (bar.n, bar.total) == (10, 10)


def test_build_progress_counts_images(data_dir):
    images = [data_dir / "brick.png", np.zeros((20, 20), dtype=np.uint8), data_dir / "coins.png"]
    calls = []
    tessera.Library.build(images, tile=8, mode="gray", threads=2,
                          progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    with tqdm(file=io.StringIO()) as bar:
        tessera.Library.build(images, tile=8, mode="gray", progress=bar)
        assert (bar.n, bar.total) == (3, 3)

    def stop(done, total):
        if done == 2:
            raise ValueError("stopped by the callback")

    with pytest.raises(ValueError, match="stopped by the callback"):
        tessera.Library.build(images, tile=8, mode="gray", threads=2, progress=stop)


CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import tessera

    rng = np.random.default_rng(0)
    lib = tessera.Library.from_patches(rng.integers(0, 256, (3000, 64), dtype=np.uint8), tile=8)
    target = rng.integers(0, 256, (8 * 512, 8 * 512), dtype=np.uint8)  # 262144 tiles
    seen = []

    def progress(done, total):
        seen.append(done)
        print(done, flush=True)

    try:
        if sys.argv[1] == "mosaic":
            lib.mosaic(target, threads=1, progress=progress)
        else:
            lib.search(tessera.tiles(target, 8)[0], k=1, threads=1, progress=progress)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted after", seen[-1], "of 262144", flush=True)
""")


@pytest.mark.parametrize("call", ["mosaic", "search"])
def test_ctrl_c_interrupts_a_long_call(call):
    # SIGINT as Python's default even where this process inherited it ignored (a background job).
    child = subprocess.Popen([sys.executable, "-c", CHILD, call], stdout=subprocess.PIPE,
                             text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert child.stdout.readline() == "0\n"  # matching has started
        child.send_signal(signal.SIGINT)
        rest = child.stdout.read()
    finally:
        child.kill()
        child.wait()
    last = rest.splitlines()[-1]
    assert last.startswith("interrupted after "), rest
    assert int(last.split()[2]) < 262144
