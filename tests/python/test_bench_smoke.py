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
         "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    assert out.stat().st_size > 0
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    report = json.loads(out.with_suffix(".json").read_text())
    assert [w["key"] for w in report["workloads"]] == [1, 2, 3]
    for w in report["workloads"]:
        results = {r["method"]: r for r in w["results"]}
        tessera = results["tessera mosaic (whole process)"]
        sklearn = results["scikit-learn batched kneighbors"]
        # Both exact on every tile; smoke tiles are few enough to be checked exhaustively.
        assert tessera["inexact_tiles"] == 0, w["key"]
        assert sklearn["evaluated_tiles"] == w["tiles"] and sklearn["inexact_tiles"] == 0, w["key"]
        assert w["checked_tiles"] == w["tiles"]
        assert f"| {tessera['method']} |" in out.read_text()
