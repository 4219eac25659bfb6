"""tessera.dask on a LocalCluster of 2 worker processes: sharded search and mosaic equal one
library built from all the sources (ties across shards included), mosaic_many equals local
mosaics and writes what `tessera mosaic` writes, a worker killed mid-job changes nothing, and a
missing, changed or foreign shard is named."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

import tessera
import tessera.dask as td
from tessera._dask_cli import main
from tessera_testing import run

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    # Worker processes are spawned: they import tessera from where this process does.
    package_root = os.path.dirname(os.path.dirname(tessera.__file__))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, old) if p)
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()
    if old is None:
        del os.environ["PYTHONPATH"]
    else:
        os.environ["PYTHONPATH"] = old


def save_png(path, pixels):
    Image.fromarray(pixels).save(path)
    return str(path)


def shard_of(shards, ids):
    return np.searchsorted([s.offset for s in shards.shards], ids, side="right") - 1


@pytest.fixture(scope="module")
def real(client, tmp_path_factory, data_dir):
    """Real images, brick.png twice (in shards 0 and 2: every brick patch ties across shards)."""
    tmp = tmp_path_factory.mktemp("real")
    (tmp / "dup").mkdir()
    shutil.copy(data_dir / "brick.png", tmp / "dup" / "brick-copy.png")
    sources = [data_dir / "brick.png", data_dir / "gravel.png", data_dir / "coins.png",
               tmp / "dup", data_dir / "grass.png"]
    options = dict(tile=16, rotations=(0, 90, 180, 270), mode="gray")
    shards = td.build_sharded(client, sources, tmp / "shards", shards=3, **options)
    single = tessera.Library.build(sources, **options)
    single.save(tmp / "single.tsr")
    target = np.asarray(Image.open(data_dir / "astronaut.png").convert("L"))[100:250, 150:350]
    return shards, single, save_png(tmp / "target.png", target), tmp


def test_shards_split_the_sources_in_order(real):
    shards, single, _, _ = real
    assert [s.sources for s in shards.shards] == [1, 2, 2]
    assert [s.offset for s in shards.shards] == [0, 4096, 4096 + 4096 + 1728]
    assert len(shards) == len(single)
    ids = np.arange(0, len(single), 37)
    assert np.array_equal(shards.patches_at(ids), single.patches[ids])


def test_sharded_search_equals_single_on_real_data_with_ties_across_shards(real, data_dir):
    shards, single, target, _ = real
    tiles, _ = tessera.tiles(np.asarray(Image.open(target)), 16)
    queries = np.concatenate([tiles, single.patches[::101]])  # exact hits: brick ties
    d, ids = shards.search(queries, k=6)
    expected_d, expected_ids = single.search(queries, k=6)
    assert np.array_equal(d, expected_d) and np.array_equal(ids, expected_ids)
    tie = d[:, 0] == d[:, 1]
    across = tie & (shard_of(shards, ids[:, 0]) != shard_of(shards, ids[:, 1]))
    assert across.sum() > 10  # the merge broke ties across shards by global id


def test_sharded_mosaic_equals_single_with_edge_tiles(real):
    shards, single, target, _ = real
    out = shards.mosaic(target)
    assert out.shape == (150, 200)  # 150 % 16 and 200 % 16: cropped edge tiles on both sides
    assert np.array_equal(out, single.mosaic(target))


def test_local_dir_copies_each_library_once_per_worker(client, real, tmp_path, capsys):
    shards, single, target, _ = real
    local = tmp_path / "local"
    copied = td.open_sharded(shards.path, client, local_dir=str(local))
    assert np.array_equal(copied.mosaic(target), single.mosaic(target))
    names = sorted(os.listdir(local))
    assert names == sorted(f"{s.checksum:016x}-shard-{i:05d}.tsr" for i, s in enumerate(shards.shards))
    for shard in shards.shards:
        name = f"{shard.checksum:016x}-{os.path.basename(shard.path)}"
        assert (local / name).read_bytes() == open(shard.path, "rb").read()
    got = td.mosaic_many(client, single.path, [target], local_dir=str(local), progress=True)
    assert np.array_equal(got[0], single.mosaic(target))
    assert len(os.listdir(local)) == len(names) + 1


def test_sharded_search_random_rgb_ties_and_small_shards(client, tmp_path):
    """Random rgb images, one repeated in another shard and flat ones, the last shard smaller
    than k; queries whole, edge-sized and flattened."""
    rng = np.random.default_rng(5)
    images = [rng.integers(0, 4, (24, 20, 3), dtype=np.uint8) * 60 for _ in range(4)]
    images[3] = images[0].copy()
    images.append(np.full((8, 8, 3), 120, np.uint8))
    images.append(np.full((9, 8, 3), 120, np.uint8))
    paths = [save_png(tmp_path / f"{i}.png", im) for i, im in enumerate(images)]
    options = dict(tile=8, stride=4, rotations=(0, 90), flips=True)
    shards = td.build_sharded(client, paths, tmp_path / "shards", shards=3, **options)
    single = tessera.Library.build(paths, **options)
    assert shards.shards[-1].patches < 12
    whole = np.concatenate([rng.integers(0, 4, (30, 8, 8, 3), dtype=np.uint8) * 60,
                            single.patches[::7], np.full((3, 8, 8, 3), 120, np.uint8)])
    for queries in (whole, np.ascontiguousarray(whole[:, :5, :3]), whole.reshape(len(whole), -1)):
        got = shards.search(queries, k=12)
        expected = single.search(queries, k=12)
        assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
    target = rng.integers(0, 4, (21, 30, 3), dtype=np.uint8) * 60
    assert np.array_equal(shards.mosaic(target), single.mosaic(target))


def test_merge_is_the_lexicographic_top_k():
    rng = np.random.default_rng(1)
    d = rng.integers(0, 3, (50, 9))
    ids = np.argsort(rng.random((50, 9)), axis=1)  # unique per row
    offsets = np.array([0, 3, 6])
    found = []
    for s in range(3):
        part_d, part_ids = d[:, 3 * s : 3 * s + 3], ids[:, 3 * s : 3 * s + 3] % 3
        order = np.lexsort((part_ids, part_d))
        found.append((np.take_along_axis(part_d, order, 1), np.take_along_axis(part_ids, order, 1)))
    got_d, got_ids = td.merge(found, offsets, 4)
    for row in range(50):
        pairs = sorted((found[s][0][row, j], found[s][1][row, j] + offsets[s])
                       for s in range(3) for j in range(3))[:4]
        assert [tuple(p) for p in zip(got_d[row], got_ids[row])] == pairs


def test_mosaic_many_equals_local_and_writes_what_the_cli_writes(client, real, tessera_bin, tmp_path):
    _, single, target, _ = real
    rng = np.random.default_rng(2)
    arrays = [rng.integers(0, 256, (40 + i, 33), dtype=np.uint8) for i in range(3)]
    targets = [target] + arrays + [Image.fromarray(arrays[0])]
    local = [single.mosaic(t) for t in targets]
    got = td.mosaic_many(client, single.path, targets)
    assert all(np.array_equal(a, b) for a, b in zip(got, local))
    results = td.mosaic_many(client, single, targets[:2], return_matches=True, max_uses=2)
    expected = single.mosaic(targets[1], return_matches=True, max_uses=2)
    assert np.array_equal(results[1].matches, expected.matches)
    spaced = td.mosaic_many(client, single, targets[:1], return_matches=True, min_distance=1)
    expected = single.mosaic(target, return_matches=True, min_distance=1)
    assert np.array_equal(spaced[0].matches, expected.matches)
    assert not np.array_equal(spaced[0].matches, single.mosaic(target, return_matches=True).matches)

    written = td.mosaic_many(client, single.path, targets, out_dir=tmp_path / "out")
    names = ["target.png", "000001.png", "000002.png", "000003.png", "000004.png"]
    assert written == [str(tmp_path / "out" / n) for n in names]
    assert sorted(os.listdir(tmp_path / "out")) == sorted(names)
    for path, image in zip(written, local):
        assert np.array_equal(np.asarray(Image.open(path)), image)
    run(tessera_bin, "mosaic", single.path, target, "-o", tmp_path / "cli.png", "-q")
    assert (tmp_path / "cli.png").read_bytes() == (tmp_path / "out" / "target.png").read_bytes()
    with pytest.raises(ValueError, match="both be written to x.png"):
        td.mosaic_many(client, single.path, arrays[:2], out_dir=tmp_path, names=["x", "x"])


def test_a_worker_killed_mid_job_changes_nothing(client, real, data_dir, tmp_path):
    _, single, _, _ = real
    astronaut = np.asarray(Image.open(data_dir / "astronaut.png").convert("L"))
    targets = [astronaut[9 * i : 9 * i + 160, 11 * i : 11 * i + 160] for i in range(30)]
    out = tmp_path / "out"
    pids = client.run(os.getpid)
    result = {}
    job = threading.Thread(
        target=lambda: result.setdefault("paths", td.mosaic_many(client, single.path, targets, out))
    )
    job.start()
    while not (out.exists() and any(n.endswith(".png") for n in os.listdir(out))):
        time.sleep(0.002)
    os.kill(pids[sorted(pids)[0]], signal.SIGKILL)
    done_at_kill = sum(n.endswith(".png") and not n.startswith(".") for n in os.listdir(out))
    job.join(120)
    assert done_at_kill < len(targets)  # the kill came mid-job
    finals = sorted(n for n in os.listdir(out) if not n.startswith("."))
    assert finals == [f"{i:06d}.png" for i in range(len(targets))]
    for path, t in zip(result["paths"], targets):
        assert np.array_equal(np.asarray(Image.open(path)), single.mosaic(t))
    client.wait_for_workers(2, timeout=60)


def test_save_image_starts_libvips_itself(tmp_path):
    """A fresh worker may write before it has decoded anything."""
    code = ("import numpy as np, tessera; "
            f"tessera._tessera.save_image({str(tmp_path / 'a.png')!r}.encode(), np.zeros((3, 5), np.uint8))")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), np.zeros((3, 5)))


def test_manifest_lists_the_shards(real):
    shards, _, _, _ = real
    document = json.loads(open(shards.path).read())
    assert document["patches"] == len(shards)
    assert [s["file"] for s in document["shards"]] == [f"shard-{i:05d}.tsr" for i in range(3)]
    for entry, shard in zip(document["shards"], shards.shards):
        lib = tessera.Library.open(shard.path)
        assert entry["patches"] == len(lib) and entry["file_bytes"] == os.path.getsize(shard.path)


@pytest.fixture
def shard_copy(real, tmp_path):
    """A copy of the real shards' directory, to damage; and a foreign shard of the same size."""
    shards, _, _, _ = real
    shutil.copytree(os.path.dirname(shards.path), tmp_path / "s")
    return tmp_path / "s"


def test_a_missing_shard_is_named(client, shard_copy):
    os.unlink(shard_copy / "shard-00001.tsr")
    with pytest.raises(tessera.Error, match=r"shard 1 of .*manifest.json: .*shard-00001.tsr is missing"):
        td.open_sharded(shard_copy, client)


def test_a_changed_shard_is_named(client, shard_copy):
    with open(shard_copy / "shard-00002.tsr", "ab") as f:
        f.write(b"x")
    with pytest.raises(tessera.Error, match=r"shard 2 of .*shard-00002.tsr has \d+ bytes, not"):
        td.open_sharded(shard_copy / "manifest.json", client)


def test_a_foreign_shard_of_the_same_size_is_named_with_its_worker(client, shard_copy, tmp_path):
    """Another library with the same layout and size (other pixels): found on the worker."""
    rng = np.random.default_rng(4)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        save_png(tmp_path / d / "i.png", rng.integers(0, 256, (32, 32), dtype=np.uint8))
    one = td.build_sharded(client, [tmp_path / "a"], tmp_path / "one", shards=1, tile=8)
    two = td.build_sharded(client, [tmp_path / "b"], tmp_path / "two", shards=1, tile=8)
    shutil.copy(two.shards[0].path, one.shards[0].path)
    with pytest.raises(tessera.Error, match=r"shard 0 of .*one/manifest.json .*shard-00000.tsr on "
                       r"worker tcp://[0-9.:]+: its data checksum is not"):
        td.open_sharded(tmp_path / "one", client)


def test_a_corrupt_or_foreign_manifest_is_named(client, shard_copy):
    manifest = shard_copy / "manifest.json"
    document = json.loads(manifest.read_text())
    document["shards"][1]["offset"] += 1
    manifest.write_text(json.dumps(document))
    with pytest.raises(tessera.Error, match="corrupt or foreign manifest: shard 1 starts at id"):
        td.open_sharded(shard_copy, client)
    manifest.write_text("{}")
    with pytest.raises(tessera.Error, match="manifest.json: corrupt or foreign manifest: not a"):
        td.open_sharded(shard_copy, client)


def test_command_line_builds_and_mosaics_as_the_api(client, real, data_dir, tmp_path, capsys):
    _, single, target, _ = real
    help_text = subprocess.run([sys.executable, "-m", "tessera.dask", "build", "--help"],
                               capture_output=True, text=True, check=True).stdout
    assert "(default: 8)" in help_text and "--scheduler" in help_text
    scheduler = ["--scheduler", client.scheduler.address]
    sources = [str(data_dir / "brick.png"), str(data_dir / "coins.png")]
    assert main(["build", *sources, "--out-dir", str(tmp_path / "s"), "--shards", "2",
                 "--mode", "gray", *scheduler]) == 0
    lib = tessera.Library.build(sources, mode="gray")
    assert main(["mosaic", str(tmp_path / "s"), target, "--out-dir", str(tmp_path / "out"),
                 *scheduler]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "target.png")), lib.mosaic(target))
    assert main(["mosaic", single.path, target, "--out-dir", str(tmp_path / "out2"), *scheduler]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out2" / "target.png")),
                          single.mosaic(target))
    assert main(["mosaic", single.path, target, "--out-dir", str(tmp_path / "o"), "--suffix",
                 ".foo", *scheduler]) == 1
    assert "cannot tell the image format from the extension '.foo'" in capsys.readouterr().err
    assert main(["mosaic", single.path, target, "--out-dir", str(tmp_path / "out3"),
                 "--max-uses", "2", "--min-distance", "1", *scheduler]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out3" / "target.png")),
                          single.mosaic(target, max_uses=2, min_distance=1))
    assert main(["mosaic", str(tmp_path / "s"), target, "--out-dir", str(tmp_path / "o"),
                 "--min-distance", "1", *scheduler]) == 1
    assert "need a .tsr library file, not a sharded library" in capsys.readouterr().err
