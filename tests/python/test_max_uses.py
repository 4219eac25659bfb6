"""Mosaics under a repeat cap (--max-uses, Library.mosaic(max_uses=...)): the cap holds, the
total distance equals the dense optimum (scipy's linear_sum_assignment with each patch's column
repeated max_uses times), the result does not depend on the thread count, and an impossible cap
is refused with the solver's message."""

import numpy as np
import pytest
from PIL import Image

import tessera
from tessera_testing import assert_failed, read_matches_csv, run

optimize = pytest.importorskip("scipy.optimize")


@pytest.fixture(scope="module")
def small(tmp_path_factory, data_dir):
    """A gray library of 256 patches (8x8) and a target with cropped edge tiles (130 tiles)."""
    d = tmp_path_factory.mktemp("capped")
    lib = tessera.Library.build([data_dir / "brick.png"], tile=8, stride=32, mode="gray")
    lib.save(d / "lib.tsr")
    with Image.open(data_dir / "coins.png") as im:
        im.convert("L").crop((0, 0, 100, 80)).save(d / "target.png")
    target = np.asarray(Image.open(d / "target.png"))
    return d, tessera.Library.open(d / "lib.tsr"), target


def dense_costs(lib, target, matches):
    """Every tile's squared distance to every patch, from the exact search with k = all."""
    costs = np.empty((len(matches), len(lib)), dtype=np.int64)
    shapes = {(int(m["height"]), int(m["width"])) for m in matches}
    for h, w in shapes:
        rows = [i for i, m in enumerate(matches) if (m["height"], m["width"]) == (h, w)]
        windows = np.stack([target[matches[i]["y"]:matches[i]["y"] + h,
                                   matches[i]["x"]:matches[i]["x"] + w] for i in rows])
        distances, ids = lib.search(np.ascontiguousarray(windows), k=len(lib))
        full = np.empty_like(distances)
        np.put_along_axis(full, ids, distances, axis=1)
        costs[rows] = full
    return costs


def dense_optimum(costs, max_uses):
    rows, cols = optimize.linear_sum_assignment(np.repeat(costs, max_uses, axis=1))
    return int(costs[rows, cols // max_uses].sum())


@pytest.mark.parametrize("max_uses", [1, 2, 3])
def test_cap_holds_and_cost_is_the_dense_optimum(small, max_uses):
    _, lib, target = small
    result = lib.mosaic(target, max_uses=max_uses, return_matches=True)
    matches = result.matches
    assert np.bincount(matches["patch"]).max() <= max_uses
    costs = dense_costs(lib, target, matches)
    cells = np.arange(len(matches))
    assert (costs[cells, matches["patch"]] == matches["distance"]).all()
    assert int(matches["distance"].sum()) == dense_optimum(costs, max_uses)
    # The cap costs something here: the uncapped mosaic repeats patches.
    free = lib.mosaic(target, return_matches=True).matches
    assert np.bincount(free["patch"]).max() > max_uses
    assert int(free["distance"].sum()) <= int(matches["distance"].sum())


def test_same_for_any_thread_count(small):
    _, lib, target = small
    one = lib.mosaic(target, threads=1, max_uses=1, return_matches=True)
    two = lib.mosaic(target, threads=2, max_uses=1, return_matches=True)
    assert (one.image == two.image).all()
    assert (one.matches == two.matches).all()


def test_python_infeasible_cap(small):
    _, lib, target = small
    big = np.tile(target, (4, 1))  # 520 tiles, 256 patches
    with pytest.raises(tessera.Error, match="places at most 256 cells; the target has 520"):
        lib.mosaic(big, max_uses=1)
    with pytest.raises(tessera.Error):
        lib.mosaic(target, max_uses=0)
    with pytest.raises(TypeError):
        lib.mosaic(target, max_uses=1.5)


def test_cli_cap_and_summary(tessera_bin, small, tmp_path):
    d, lib, target = small
    out, rows = tmp_path / "out.png", tmp_path / "rows.csv"
    proc = run(tessera_bin, "mosaic", d / "lib.tsr", d / "target.png", "-o", out, "--matches",
               rows, "--max-uses", 2, "--threads", 2)
    matches = read_matches_csv(rows)
    patches = np.array([r["patch"] for r in matches])
    assert np.bincount(patches).max() <= 2
    total = sum(r["distance"] for r in matches)
    summary = proc.stderr.strip().splitlines()[-1]
    assert f"total cost {total} (optimal, certified)" in summary, summary
    assert f"{len(np.unique(patches))} distinct patches" in summary, summary
    assert f"at most {np.bincount(patches).max()} uses each" in summary, summary
    # The same pixels as the Python module's.
    python = lib.mosaic(d / "target.png", max_uses=2)
    assert (np.asarray(Image.open(out)) == python).all()
    plain = run(tessera_bin, "mosaic", d / "lib.tsr", d / "target.png", "-o", tmp_path / "p.png")
    assert "total cost" not in plain.stderr


def test_cli_infeasible_cap(tessera_bin, small, tmp_path):
    d, _, target = small
    Image.fromarray(np.tile(target, (4, 1))).save(tmp_path / "big.png")
    out = tmp_path / "out.png"
    proc = run(tessera_bin, "mosaic", d / "lib.tsr", tmp_path / "big.png", "-o", out,
               "--max-uses", 1, check=False)
    assert_failed(proc, "--max-uses 1 with 256 tiles places at most 256 cells; the target has 520",
                  "use --max-uses 3 or more, or a library of at least 520 tiles")
    assert not out.exists()


def test_cli_help_and_bad_value(tessera_bin, small, tmp_path):
    help_text = run(tessera_bin, "mosaic", "--help").stdout
    assert "--max-uses" in help_text and "[default: no limit]" in help_text
    d, _, _ = small
    proc = run(tessera_bin, "mosaic", d / "lib.tsr", d / "target.png", "-o", tmp_path / "o.png",
               "--max-uses", 0, check=False)
    assert proc.returncode == 2
