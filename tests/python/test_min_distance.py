"""Repeats kept apart (--min-distance D, Library.mosaic(min_distance=D)): no patch twice within D
tiles (Chebyshev distance on the grid, checked from the matches file), with and without
--max-uses and --grid; the report's assignment figures agree with the matches; an impossible
distance is refused before any work with nothing written; the same output for 1 and 2 threads."""

import json

import numpy as np
import pytest
from PIL import Image

import tessera
from tessera_testing import assert_failed, read_matches_csv, run


@pytest.fixture(scope="module")
def small(tmp_path_factory, data_dir):
    """A gray library of 256 patches (8x8) and a target with cropped edge tiles (13x10 tiles),
    and a tiny library of 64 patches."""
    d = tmp_path_factory.mktemp("spaced")
    tessera.Library.build([data_dir / "brick.png"], tile=8, stride=32, mode="gray").save(
        d / "lib.tsr")
    tessera.Library.build([data_dir / "brick.png"], tile=8, stride=64, mode="gray").save(
        d / "tiny.tsr")
    with Image.open(data_dir / "coins.png") as im:
        im.convert("L").crop((0, 0, 100, 80)).save(d / "target.png")
    return d, tessera.Library.open(d / "lib.tsr"), np.asarray(Image.open(d / "target.png"))


def smallest_repeat(rows, cols, patches):
    """The smallest Chebyshev distance between two tiles of one patch; None without repeats."""
    best = None
    for p in np.unique(patches):
        at = np.flatnonzero(patches == p)
        for i in range(len(at)):
            for j in range(i + 1, len(at)):
                a, b = at[i], at[j]
                d = max(abs(rows[a] - rows[b]), abs(cols[a] - cols[b]))
                best = d if best is None else min(best, d)
    return best


def mosaic_cli(tessera_bin, d, out_dir, *args):
    out, rows, report = out_dir / "out.png", out_dir / "rows.csv", out_dir / "report.json"
    proc = run(tessera_bin, "mosaic", d / "lib.tsr", d / "target.png", "-o", out, "--matches",
               rows, "--report", report, *args)
    matches = read_matches_csv(rows)
    return proc, matches, json.loads(report.read_text()), out


def columns(matches):
    return (np.array([m["row"] for m in matches]), np.array([m["col"] for m in matches]),
            np.array([m["patch"] for m in matches]), np.array([m["distance"] for m in matches]))


@pytest.mark.parametrize("max_uses", [None, 2])
@pytest.mark.parametrize("min_distance", [1, 3])
def test_cli_distance_holds_and_report_agrees(tessera_bin, small, tmp_path, min_distance,
                                              max_uses):
    d, _, _ = small
    cap = [] if max_uses is None else ["--max-uses", max_uses]
    _, free, free_report, _ = mosaic_cli(tessera_bin, d, tmp_path, *cap)
    proc, matches, report, _ = mosaic_cli(tessera_bin, d, tmp_path, *cap, "--min-distance",
                                          min_distance)
    rows, cols, patches, distances = columns(matches)
    repeat = smallest_repeat(rows, cols, patches)
    assert repeat is None or repeat > min_distance
    # Without the limit the same library repeats patches closer: the limit changed something.
    free_rows, free_cols, free_patches, free_distances = columns(free)
    assert smallest_repeat(free_rows, free_cols, free_patches) <= min_distance
    if max_uses:
        assert np.bincount(patches).max() <= max_uses
    a = report["assignment"]
    total, unconstrained = int(distances.sum()), int(free_distances.sum())
    assert a["total_cost"] == total
    assert a["smallest_repeat_distance"] == repeat
    assert a["distinct_tiles"] == len(np.unique(patches)) == report["distinct_tiles"]
    assert a["most_uses"] == np.bincount(patches).max()
    assert a["min_distance"] == min_distance and a["max_uses"] == max_uses
    assert a["cost_without_min_distance"] == unconstrained
    assert a["gap"] == total - unconstrained > 0
    assert a["relative_gap"] == pytest.approx((total - unconstrained) / unconstrained)
    assert a["lower_bound"] == free_report["assignment"]["lower_bound"] <= total
    assert a["certified"] is False
    summary = proc.stderr.strip().splitlines()[-1]
    assert f"total cost {total} ({total - unconstrained}, " in summary, summary
    assert "above the optimum without --min-distance" in summary, summary
    # The runs without the limit: their own figures, and no gap.
    f = free_report["assignment"]
    assert f["total_cost"] == unconstrained and f["certified"] is True
    assert f["lower_bound"] == unconstrained
    assert f["min_distance"] is None and f["gap"] is None and f["relative_gap"] is None
    assert f["smallest_repeat_distance"] == smallest_repeat(free_rows, free_cols, free_patches)


def test_same_output_for_one_and_two_threads(tessera_bin, small, tmp_path):
    d, _, _ = small
    outputs = []
    for threads in (1, 2):
        (tmp_path / str(threads)).mkdir()
        _, matches, _, out = mosaic_cli(tessera_bin, d, tmp_path / str(threads), "--threads",
                                        threads, "--min-distance", 2, "--max-uses", 3)
        outputs.append((out.read_bytes(), (tmp_path / str(threads) / "rows.csv").read_bytes()))
    assert outputs[0] == outputs[1]


def test_grid_and_python_agree_with_cli(tessera_bin, small, tmp_path):
    d, lib, target = small
    _, matches, report, out = mosaic_cli(tessera_bin, d, tmp_path, "--grid", 20,
                                         "--min-distance", 4)
    rows, cols, patches, _ = columns(matches)
    assert cols.max() == 19
    assert smallest_repeat(rows, cols, patches) > 4
    result, quality = lib.mosaic(d / "target.png", grid=20, min_distance=4, return_matches=True,
                                 report=True)
    assert (result.matches["patch"] == patches).all()
    assert (np.asarray(Image.open(out)) == result.image).all()
    assert quality["assignment"] == report["assignment"]
    # mosaic_many passes it on.
    (many,) = lib.mosaic_many([target], min_distance=1, return_matches=True)
    single = lib.mosaic(target, min_distance=1, return_matches=True)
    assert (many.matches == single.matches).all()


def test_impossible_distance_is_refused_before_any_work(tessera_bin, small, tmp_path):
    d, _, target = small
    out, rows, report = tmp_path / "out.png", tmp_path / "rows.csv", tmp_path / "report.json"
    # 13x10 tiles at distance 8: a 9x9 window needs 81 patches; the tiny library has 64.
    proc = run(tessera_bin, "mosaic", d / "tiny.tsr", d / "target.png", "-o", out, "--matches",
               rows, "--report", report, "--min-distance", 8, check=False)
    assert_failed(proc, "--min-distance 8 needs 81 distinct tiles (no tile twice in 9x9 cells); "
                  "the library has 64: use --min-distance 7 or less, or a library of at least 81 "
                  "tiles")
    assert not out.exists() and not rows.exists() and not report.exists()
    assert list(tmp_path.iterdir()) == []
    tiny = tessera.Library.open(d / "tiny.tsr")
    with pytest.raises(tessera.Error, match="needs 81 distinct tiles"):
        tiny.mosaic(target, min_distance=8)
    # Distance 7: an 8x8 window, 64 patches: exactly enough.
    matches = tiny.mosaic(target, min_distance=7, return_matches=True).matches
    assert smallest_repeat(matches["row"], matches["col"], matches["patch"]) > 7


def test_help_and_bad_values(tessera_bin, small, tmp_path):
    help_text = run(tessera_bin, "mosaic", "--help").stdout
    assert "--min-distance" in help_text and "repaired in row-major order" in help_text
    d, lib, target = small
    proc = run(tessera_bin, "mosaic", d / "lib.tsr", d / "target.png", "-o", tmp_path / "o.png",
               "--min-distance", 0, check=False)
    assert proc.returncode == 2
    with pytest.raises(tessera.Error):
        lib.mosaic(target, min_distance=0)
    with pytest.raises(TypeError):
        lib.mosaic(target, min_distance=1.5)


def test_timings_show_matching_assigning_and_spacing_apart(tessera_bin, small, tmp_path):
    """--timings and the reports time the search, the capped assignment and the repair apart."""
    d, lib, target = small
    _, _, report, _ = mosaic_cli(tessera_bin, d, tmp_path, "--max-uses", "2", "--min-distance",
                                 "2", "--timings", tmp_path / "t.json")
    timings = json.loads((tmp_path / "t.json").read_text())
    phases = list(timings)
    assert phases[phases.index("search"):phases.index("render")] == ["search", "assign", "space"]
    assert list(report["seconds"]) == [p for p in phases if p in report["seconds"]]
    assert {"search", "assign", "space"} <= set(report["seconds"])
    _, plain = lib.mosaic(target, report=True)
    assert "assign" not in plain["seconds"] and "space" not in plain["seconds"]
    _, capped = lib.mosaic(target, max_uses=2, report=True)
    phases = list(capped["seconds"])
    assert phases[phases.index("search") + 1] == "assign" and "space" not in phases
