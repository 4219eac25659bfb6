"""The Python module against the brute-force oracle, scikit-learn, numpy and itself (pickling,
multiprocessing, input kinds). CLI parity is in test_module_cli.py, bad arguments in
test_module_errors.py."""

import ctypes
import multiprocessing
import os
import pathlib
import pickle
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import tessera
from tessera_testing import cut, load


def gray(data_dir, name):
    return load(data_dir / name, "L")


def rgb(data_dir, name):
    return load(data_dir / name, "RGB")


def tiles_of(image, h, w):
    """The whole h x w tiles of an image, row-major: (n, h, w) or (n, h, w, 3)."""
    return np.stack(cut(image, (w, h), (w, h)))


@pytest.fixture(scope="module")
def small_gray(data_dir):
    """~2k patches from crops of two real images: small enough for the oracle."""
    images = [gray(data_dir, "coins.png")[:96, :128], gray(data_dir, "brick.png")[100:164, :96]]
    return tessera.Library.build(images, tile=8, stride=(4, 6), rotations=(0, 90, 180, 270),
                                 flips=True, mode="gray")


@pytest.fixture(scope="module")
def small_rgb(data_dir):
    images = [rgb(data_dir, "coffee.png")[:64, :96], rgb(data_dir, "astronaut.png")[:48, :48]]
    return tessera.Library.build(images, tile=(6, 8), stride=4, rotations=(0, 180), mode="rgb")


@pytest.fixture(scope="module")
def opened(data_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("lib") / "gray.tsr"
    lib = tessera.Library.build([data_dir / "brick.png", data_dir / "coins.png"], tile=16,
                                rotations=(0, 90, 180, 270), mode="gray")
    lib.save(path)
    return tessera.Library.open(path)


@pytest.mark.parametrize("which", ["small_gray", "small_rgb"])
def test_mosaic_equals_oracle(request, data_dir, which):
    lib = request.getfixturevalue(which)
    target = rgb(data_dir, "chelsea.png")[100:151, 200:263]  # sides not multiples of the tile
    result = lib.mosaic(target, return_matches=True)
    image, matches, psnr = lib._core.mosaic(target, 0, bruteforce=True)
    np.testing.assert_array_equal(result.image, image)
    np.testing.assert_array_equal(result.matches, matches)
    assert result.psnr == psnr
    assert result.image.shape == (target.shape[:2] if lib.mode == "gray" else target.shape)
    rows, cols = result.grid
    assert (rows, cols) == (-(-51 // lib.tile[0]), -(-63 // lib.tile[1]))
    assert result.matches["distance"].reshape(result.grid).shape == result.grid


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("window", [(8, 8), (8, 3), (5, 8), (1, 1)])
def test_search_equals_oracle(small_gray, data_dir, threads, window):
    h, w = window
    image = gray(data_dir, "grass.png")
    tiles = np.stack([image[y:y + h, x:x + w] for y in range(0, 200, 23) for x in range(0, 99, 7)])
    dist, ids = small_gray.search(tiles, k=5, threads=threads)
    oracle_dist, oracle_ids = small_gray._core.search(tiles, 5, 0, bruteforce=True)
    assert dist.dtype == np.int64 and ids.dtype == np.int64 and dist.shape == (len(tiles), 5)
    np.testing.assert_array_equal(dist, oracle_dist)
    np.testing.assert_array_equal(ids, oracle_ids)


def test_search_rgb_equals_numpy(small_rgb, data_dir):
    tiles = tiles_of(rgb(data_dir, "rocket.jpg")[:60, :64], 6, 8)
    dist, ids = small_rgb.search(tiles, k=3)
    diff = tiles[:, None].astype(np.int64) - small_rgb.patches[None].astype(np.int64)
    all_dist = (diff**2).sum(axis=(2, 3, 4))
    ids_grid = np.broadcast_to(np.arange(len(small_rgb)), all_dist.shape)
    order = np.lexsort((ids_grid, all_dist))[:, :3]  # by distance, then id
    np.testing.assert_array_equal(ids, order)
    np.testing.assert_array_equal(dist, np.take_along_axis(all_dist, order, axis=1))


def test_search_k5_distances_equal_sklearn(opened, data_dir):
    from sklearn.neighbors import NearestNeighbors

    patches = opened.patches.reshape(len(opened), -1)
    queries = tiles_of(gray(data_dir, "gravel.png")[:128, :128], 16, 16).reshape(-1, 256)
    nn = NearestNeighbors(n_neighbors=5, algorithm="brute").fit(patches.astype(np.float64))
    sk_dist, _ = nn.kneighbors(queries.astype(np.float64))
    dist, ids = opened.search(queries, k=5)  # flattened tiles, as scikit-learn takes them
    np.testing.assert_array_equal(dist, np.rint(sk_dist ** 2).astype(np.int64))
    # The ids hold exactly those distances.
    direct = ((patches[ids].astype(np.int64) - queries[:, None].astype(np.int64)) ** 2).sum(axis=2)
    np.testing.assert_array_equal(direct, dist)


def test_provenance_recreates_each_patch(small_gray, data_dir):
    sources = [gray(data_dir, "coins.png")[:96, :128], gray(data_dir, "brick.png")[100:164, :96]]
    ids = np.arange(0, len(small_gray), 37).reshape(-1, 1)
    info = small_gray.provenance(ids)
    assert info.x.shape == ids.shape and set(np.unique(info.path)) <= {"<array 0>", "<array 1>"}
    for i, id_ in enumerate(ids[:, 0]):
        x, y = info.x[i, 0], info.y[i, 0]
        window = sources[info.source[i, 0]][y:y + 8, x:x + 8]
        name = str(info.transform[i, 0])
        if name.startswith("flip"):
            window = np.fliplr(window)
        turns = int(name.rsplit("rot", 1)[1]) // 90 if "rot" in name else 0
        np.testing.assert_array_equal(np.rot90(window, turns), small_gray.patches[id_])
    one = small_gray.provenance(int(ids[1, 0]))
    assert one == tuple(field[1, 0].item() for field in info)
    assert small_gray.transforms == ("rot0", "rot90", "rot180", "rot270", "flip", "flip-rot90",
                                     "flip-rot180", "flip-rot270")


def test_inputs_as_path_pil_and_array_agree(opened, data_dir):
    path = data_dir / "horse.png"  # RGBA: alpha dropped, then luma as PIL's convert('L')
    pil = Image.open(path)
    from_path = opened.mosaic(path)
    np.testing.assert_array_equal(opened.mosaic(str(path)), from_path)
    np.testing.assert_array_equal(opened.mosaic(pil), from_path)
    np.testing.assert_array_equal(opened.mosaic(np.asarray(pil.convert("RGB"))), from_path)
    np.testing.assert_array_equal(opened.mosaic(np.asarray(pil.convert("L"))), from_path)
    palette = pil.convert("P")
    np.testing.assert_array_equal(opened.mosaic(palette), opened.mosaic(palette.convert("RGB")))
    built = [tessera.Library.build([image], tile=16, mode="gray") for image in
             (path, pil, np.asarray(pil.convert("L")), np.asarray(pil.convert("RGB")))]
    for lib in built[1:]:
        np.testing.assert_array_equal(lib.patches, built[0].patches)
    assert built[0].sources[0].path == str(path) and built[0].sources[0].width == 400
    assert built[1].sources[0].path == str(path)  # a PIL image keeps its file name
    assert built[2].sources[0].path == "<array 0>"


def test_gray_library_gives_rgb_mosaic_for_rgb_library(small_rgb, data_dir):
    target = gray(data_dir, "coins.png")[:30, :40]
    out = small_rgb.mosaic(target)
    assert out.shape == (30, 40, 3)
    np.testing.assert_array_equal(out, small_rgb.mosaic(np.repeat(target[:, :, None], 3, axis=2)))


def test_threads_do_not_change_results(opened, data_dir):
    """0 and None both mean all cores, as --threads 0 does."""
    target = gray(data_dir, "grass.png")[:200, :250]
    one = opened.mosaic(target, threads=1, return_matches=True)
    for threads in (2, 0, None):
        other = opened.mosaic(target, threads=threads, return_matches=True)
        np.testing.assert_array_equal(one.matches, other.matches)
        np.testing.assert_array_equal(one.image, other.image)
    tiles = tiles_of(target, 16, 16)
    expected = opened.search(tiles, k=3, threads=1)
    for threads in (0, None):
        np.testing.assert_array_equal(opened.search(tiles, k=3, threads=threads), expected)


def test_build_threads_zero_is_all_cores(data_dir):
    images = [data_dir / "coins.png", gray(data_dir, "grass.png")[:100, :120]]
    one = tessera.Library.build(images, tile=8, mode="gray", threads=1)
    every = tessera.Library.build(images, tile=8, mode="gray", threads=0)
    assert every.sources == one.sources
    np.testing.assert_array_equal(every.patches, one.patches)


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_many_thread_counts_do_not_keep_a_searcher_each():
    """The search for one thread count caches an index per edge-window shape, 16 bytes a patch
    each here (6 MB for three shapes): a sweep over 16 thread counts must not keep 16 of them."""
    noise = np.random.default_rng(0).integers(0, 256, (256, 256), np.uint8)
    lib = tessera.Library.build([noise], tile=8, stride=1, rotations=(0, 90), mode="gray")
    assert len(lib) == 2 * 249 * 249
    shapes = [(7, 7), (7, 6), (6, 7)]

    def sweep(threads):
        for h, w in shapes:
            lib.search(noise[None, :h, :w].copy(), k=1, threads=threads)

    sweep(1)
    before = resident_bytes()
    for threads in range(2, 18):
        sweep(threads)
    grown = resident_bytes() - before
    per_searcher = len(shapes) * 16 * len(lib)
    assert grown < 4 * per_searcher, f"{grown / 2**20:.0f} MB kept after the sweep"


def test_views_are_read_only_and_outlive_the_library(data_dir):
    lib = tessera.Library.build([gray(data_dir, "coins.png")[:32, :32]], tile=16, mode="gray")
    patches = lib.patches
    expected = gray(data_dir, "coins.png")[:16, 16:32]
    del lib
    assert patches.shape == (4, 16, 16) and not patches.flags.writeable
    np.testing.assert_array_equal(patches[1], expected)
    with pytest.raises(ValueError):
        patches[0, 0, 0] = 1


def test_properties(small_rgb, opened):
    assert (small_rgb.tile, small_rgb.stride, small_rgb.mode) == ((6, 8), (4, 4), "rgb")
    assert small_rgb.transforms == ("rot0", "rot180") and small_rgb.path is None
    assert small_rgb.patches.shape == (len(small_rgb), 6, 8, 3)
    assert [s.path for s in small_rgb.sources] == ["<array 0>", "<array 1>"]
    assert (small_rgb.sources[0].width, small_rgb.sources[0].height) == (96, 64)
    assert opened.path.endswith("gray.tsr") and opened.tile == (16, 16) and opened.mode == "gray"
    assert f"{len(opened)} gray patches, tile (16, 16)" in repr(opened)
    assert "Library.build" in tessera.Library.__doc__ and "pickles" in tessera.Library.__doc__


# ---- pickling and multiprocessing ----


def test_pickled_library_is_small_and_reopens_the_file(opened, data_dir):
    blob = pickle.dumps(opened)
    assert len(blob) < 1024
    again = pickle.loads(blob)
    assert again.path == opened.path and len(again) == len(opened)
    target = gray(data_dir, "gravel.png")[:64, :64]
    np.testing.assert_array_equal(again.mosaic(target), opened.mosaic(target))


def test_pickle_refuses_a_changed_file(tmp_path, data_dir):
    path = tmp_path / "lib.tsr"
    tessera.Library.build([gray(data_dir, "coins.png")], tile=16, mode="gray").save(path)
    blob = pickle.dumps(tessera.Library.open(path))
    assert len(pickle.loads(blob)) == len(pickle.loads(blob))  # the second from the cache
    tessera.Library.build([gray(data_dir, "brick.png")], tile=16, mode="gray").save(path)
    for _ in range(2):  # also once the process has unpickled it before the change
        with pytest.raises(tessera.Error, match="another library than the one pickled"):
            pickle.loads(blob)


def test_open_checks_the_data_checksum(tmp_path):
    """One flipped pixel byte in the file: refused on open, never a silently wrong mosaic."""
    noise = np.random.default_rng(5).integers(0, 256, (64, 64), np.uint8)
    path = tmp_path / "lib.tsr"
    lib = tessera.Library.build([noise], tile=8, mode="gray")
    lib.save(path)
    data = bytearray(path.read_bytes())
    at = data.find(lib.patches[5].tobytes())  # noise: these 64 bytes occur once, as pixels
    assert at > 0 and data.find(lib.patches[5].tobytes(), at + 1) == -1
    data[at] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(tessera.Error, match="data is corrupt \\(checksum mismatch\\)"):
        tessera.Library.open(path)


def test_sources_record_the_files_size_and_xxh3(data_dir, tmp_path):
    """Checked against libxxhash itself, not against tessera's own hashing."""
    xxhash = ctypes.CDLL("libxxhash.so.0")
    xxhash.XXH3_64bits.restype = ctypes.c_uint64
    xxhash.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    names = ["coins.png", "rocket.jpg"]
    lib = tessera.Library.build([data_dir / n for n in names], tile=16, mode="gray")
    lib.save(tmp_path / "lib.tsr")
    for source in tessera.Library.open(tmp_path / "lib.tsr").sources:
        data = pathlib.Path(source.path).read_bytes()
        assert source.file_bytes == len(data)
        assert source.content_hash == xxhash.XXH3_64bits(data, len(data))


def test_pickle_of_an_unsaved_library_says_to_save_it(tmp_path, small_gray):
    with pytest.raises(TypeError, match="save"):
        pickle.dumps(small_gray)
    lib = tessera.Library.build([np.zeros((16, 16), np.uint8)], tile=16, mode="gray")
    lib.save(tmp_path / "saved.tsr")
    assert pickle.loads(pickle.dumps(lib)).path == str(tmp_path / "saved.tsr")


def mosaic_part(lib, part):
    return lib.mosaic(part)


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_pool_over_column_slices_equals_one_call(opened, data_dir, start):
    target = gray(data_dir, "astronaut.png")[:160, :250]
    whole = opened.mosaic(target)  # the parent uses OpenMP before forking
    edges = [0, 64, 128, 192, 250]  # tile boundaries, the last slice with edge tiles
    context = multiprocessing.get_context(start)
    with context.Pool(2) as pool:
        jobs = [(opened, target[:, a:b]) for a, b in zip(edges, edges[1:])]
        parts = pool.starmap_async(mosaic_part, jobs).get(timeout=120)  # a hang fails
    np.testing.assert_array_equal(np.hstack(parts), whole)


def build_arrays(arrays):
    return tessera.Library.build(arrays, tile=8, mode="gray").patches.tobytes()


# Run in a fresh interpreter, so that nothing before it has raised the peak: prints how far the
# resident memory peaked during build above what it was just before, in MiB. The peak is VmHWM,
# this program's own: ru_maxrss keeps the peak of the process before exec, here pytest's.
BUILD_PEAK = """
import sys
import numpy as np
from PIL import Image
import tessera

def status(field):  # in KiB
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field + ":"))

kind = sys.argv[1]
if kind == "pil":  # 40 RGB images of 2 MiB, which build converts to arrays
    images = [Image.new("RGB", (1000, 700), (i, i, i)) for i in range(40)]
elif kind == "strided":  # 40 transposed views, which build makes contiguous
    images = [np.full((700, 1000, 3), i, np.uint8).transpose(1, 0, 2) for i in range(40)]
else:  # the same 80 MiB as one contiguous array, used where it is
    images = [np.full((28000, 1000, 3), 7, np.uint8)]
tessera.Library.build([np.zeros((8, 8), np.uint8)], tile=8)  # first-use allocations
before = status("VmRSS")
# Few patches (about 1 MiB). 8 threads: copies made on each would stay in each one's malloc arena.
lib = tessera.Library.build(images, tile=8, stride=64, threads=8)
print((status("VmHWM") - before) / 1024)
"""


@pytest.mark.parametrize("kind", ["pil", "strided", "contiguous"])
def test_build_converts_one_image_at_a_time(kind):
    """Images that need converting (PIL images, arrays that are not C-contiguous) are converted
    in their turn, all on one thread, and released once added, so building from 80 MiB of them
    peaks a few MiB higher, not 80 MiB; a contiguous array is not copied at all."""
    proc = subprocess.run([sys.executable, "-c", BUILD_PEAK, kind], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    growth = float(proc.stdout)
    assert growth < 20, f"building from 80 MiB of {kind} images peaked {growth:.0f} MiB higher"


def test_build_in_a_forked_worker(opened, data_dir):
    """Building the search index runs OpenMP; in a forked child that must not hang."""
    target = gray(data_dir, "astronaut.png")[:64, :64]
    opened.mosaic(target)  # the parent uses OpenMP before forking
    arrays = [gray(data_dir, "coins.png")[:64, :64]]
    with multiprocessing.get_context("fork").Pool(1) as pool:
        built = pool.apply_async(build_arrays, (arrays,)).get(timeout=120)  # a hang fails
    assert built == build_arrays(arrays)


def test_concurrent_calls_from_threads(opened, data_dir):
    from concurrent.futures import ThreadPoolExecutor

    tiles = tiles_of(gray(data_dir, "grass.png")[:256, :256], 16, 16)
    expected = opened.search(tiles, k=3, threads=1)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: opened.search(tiles, k=3), range(6)))
    for dist, ids in results:
        np.testing.assert_array_equal(dist, expected[0])
        np.testing.assert_array_equal(ids, expected[1])


@pytest.mark.parametrize("call", ["search", "mosaic"])
def test_calls_release_the_gil(data_dir, call):
    """While a call runs in one thread, another Python thread gets to run: here it sleeps 50
    times (each wake-up needs the GIL, about 0.06 s in all) while the oracle works through a
    call of about 0.6 s, and must be done before that call is."""
    import threading

    lib = tessera.Library.build([gray(data_dir, "coins.png"), gray(data_dir, "brick.png")],
                                tile=16, stride=4, mode="gray")
    target = gray(data_dir, "grass.png")[:256, :256]
    started, finished = threading.Event(), threading.Event()

    def work():
        started.set()
        if call == "search":
            lib._core.search(tiles_of(target, 16, 16), 1, 0, bruteforce=True)
        else:
            lib._core.mosaic(target, 0, bruteforce=True)
        finished.set()

    worker = threading.Thread(target=work)
    worker.start()
    started.wait()
    for _ in range(50):
        time.sleep(0.001)
    done_first = not finished.is_set()
    worker.join()
    assert done_first, "the other thread could not run during the call"


def test_build_from_iterators_takes_each_item_as_yielded(tmp_path):
    """An iterator may reuse or close what it yields: PIL's ImageSequence.Iterator gives one
    image object for every frame, a generator may refill one buffer (here strided views, which
    are converted), and a generator of Image.open keeps a file open per image until it is
    loaded. Each item is taken as it comes, as a list's are in their turn."""
    from PIL import ImageSequence

    frames = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (0, 80, 160)]
    frames[0].save(tmp_path / "seq.gif", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "seq.gif") as im:
        lib = tessera.Library.build(ImageSequence.Iterator(im), tile=16, threads=1)
    assert [int(p.mean()) for p in lib.patches] == [0, 80, 160]

    buffer = np.zeros((16, 32), np.uint8)

    def refilled():
        for value in (0, 50, 100):
            buffer[:] = value
            yield buffer[:, ::2]

    lib = tessera.Library.build(refilled(), tile=16, mode="gray", threads=2)
    assert [int(p.mean()) for p in lib.patches] == [0, 50, 100]

    for i in range(100):
        Image.fromarray(np.full((8, 8), i, np.uint8)).save(tmp_path / f"{i:03}.png")
    script = (
        "import glob, resource, sys\n"
        "import tessera\n"
        "from PIL import Image\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
        "paths = sorted(glob.glob(sys.argv[1] + '/*.png'))\n"
        "lib = tessera.Library.build((Image.open(p) for p in paths), tile=8, mode='gray')\n"
        "print(len(lib))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0 and out.stdout == "100\n", out.stderr


def test_paths_that_are_not_utf8_round_trip_as_python_does(tmp_path):
    """File names are bytes: they go in as str (surrogate escapes), bytes or PathLike, and come
    back as os.fsdecode gives them, everywhere a path crosses into the C++ core."""
    ramp = (np.arange(64 * 64) % 256).astype(np.uint8).reshape(64, 64)
    folder = os.path.join(os.fsencode(tmp_path), b"caf\xe9")
    os.mkdir(folder)
    image = os.path.join(folder, b"caf\xe9.png")
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    os.rename(tmp_path / "ramp.png", image)
    name = os.fsdecode(image)  # '...caf\udce9.png'
    for images in ([name], [image], [pathlib.Path(name)], os.fsdecode(folder), folder):
        lib = tessera.Library.build(images, tile=8, mode="gray")
        assert [s.path for s in lib.sources] == [name]
        assert lib.provenance(0).path == name and list(lib.provenance([0, 1]).path) == [name] * 2
        assert "64 gray patches" in repr(lib)
    assert (lib.mosaic(name) == lib.mosaic(ramp)).all() and (lib.mosaic(image) == ramp).all()

    out = os.path.join(folder, b"lib\xff.tsr")
    for where in (out, os.fsdecode(out), pathlib.Path(os.fsdecode(out))):
        lib.save(where)
        assert lib.path == os.fsdecode(out) and repr(os.fsdecode(out)) in repr(lib)
        opened = tessera.Library.open(where)
        assert opened.path == os.fsdecode(out) and opened.sources == lib.sources
    again = pickle.loads(pickle.dumps(opened))
    assert again.path == opened.path and again.sources == lib.sources

    # Warnings and errors name such a file as os.fsdecode does.
    bad = os.path.join(folder, b"bad\xe9.png")
    with open(bad, "wb") as f:
        f.write(b"not an image")
    with pytest.warns(UserWarning, match="bad\udce9.png: not a supported image format"):
        tessera.Library.build(folder, tile=8)
    with pytest.raises(tessera.Error, match="bad\udce9.png: not a supported image format"):
        tessera.Library.build([bad], tile=8)
