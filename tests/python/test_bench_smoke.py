"""The benchmark's smoke mode keeps working: it runs end to end on a few small images, writes its
report, and tessera agrees exactly with scikit-learn's brute force. No timing is asserted."""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_bench_smoke(tessera_bin, tmp_path):
    out = tmp_path / "results.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare.py"), "--smoke", "--tessera", tessera_bin,
         "--out", str(out), "--cache", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    assert out.stat().st_size > 0
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    report = json.loads(out.with_suffix(".json").read_text())
    # The photo workloads first; smoke mode takes their images from data/ and downloads nothing.
    assert [w["key"] for w in report["workloads"]] == ["photo-gray", "photo-rgb", "1", "2", "3"]
    assert not (tmp_path / "cache").exists()
    for w in report["workloads"]:
        stages = {s["stage"]: s["seconds"] for s in w["stages"]}
        assert {"open", "verify"} <= set(stages) and any(s.startswith("search") for s in stages)
        rate = w["search_rate"]
        assert rate["brute_force_macs"] == w["tiles"] * w["patches"] * (256 if w["mode"] == "gray" else 768)
        assert w["credits"].endswith("LICENSES.md"), w["credits"]
        results = {r["method"]: r for r in w["results"]}
        tessera = results["tessera mosaic (whole process)"]
        sklearn = results["scikit-learn batched kneighbors"]
        # Both exact on every tile; smoke tiles are few enough to be checked exhaustively.
        assert tessera["inexact_tiles"] == 0, w["key"]
        assert sklearn["evaluated_tiles"] == w["tiles"] and sklearn["inexact_tiles"] == 0, w["key"]
        assert w["checked_tiles"] == w["tiles"]
        assert f"| {tessera['method']} |" in out.read_text()


def test_photomosaic_bench_smoke(tessera_bin, tmp_path):
    """bench/photomosaic.py runs both tools end to end on bundled images; both posters have the
    asked size and quality numbers in range. No timing is asserted."""
    import shutil

    import pytest
    pytest.importorskip("skimage.metrics")
    if shutil.which("metapixel") is None or shutil.which("metapixel-prepare") is None:
        pytest.skip("metapixel is not installed (scripts/setup.sh installs it)")
    out = tmp_path / "photomosaic.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "photomosaic.py"), "--smoke", "--tessera", tessera_bin,
         "--out", str(out), "--cache", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(out.with_suffix(".json").read_text())
    assert not (tmp_path / "cache").exists()
    assert report["cells"] == "16x16" and report["photos"] == 40
    for name, tool in report["tools"].items():
        for key in ("prepare", "mosaic_jpg", "mosaic_png"):
            assert tool[key]["peak_mb"] > 0 and tool[key]["cpu_s"] >= 0, (name, key)
        for key in ("quality", "quality_jpg"):
            assert tool[key]["poster"] == "256x256", (name, key)
            assert 0 < tool[key]["ssim"] < 1 and 5 < tool[key]["psnr_db"] < 60, (name, key)
    text = out.read_text()
    assert "| mosaic, PNG: wall s |" in text and "metapixel --library=metapixel-library" in text


def test_assign_side_by_side_runs_and_agrees_with_scipy(tessera_bin, data_dir, tmp_path):
    # compare.py asserts tessera's optimum equal to scipy's and not above the greedy fill's.
    library = tmp_path / "rgb.tsr"
    subprocess.run([tessera_bin, "build", "-q", "--tile", "8", "-o", str(library),
                    str(data_dir / "coffee.png")], check=True, timeout=120)
    compare = [sys.executable, str(ROOT / "bench" / "assign" / "compare.py"), "--max-uses", "1,2"]
    runs = [compare + ["--sizes", "50:60,100:120"],
            compare + ["--image", str(data_dir / "astronaut.png"), "--library", str(library),
                       "--crops", "64,96x80"]]
    for command, rows in zip(runs, (4, 4)):
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        lines = [line for line in result.stdout.splitlines() if line.startswith("| ")]
        assert len(lines) == 1 + rows  # the header, then a row per size and cap
        assert all("True" in line for line in lines[1:])  # certified
