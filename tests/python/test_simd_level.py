"""The SIMD level: printed by `tessera info` and `--version`, forced by TESSERA_SIMD, and the
same mosaic at every level the CPU supports."""
import pytest

import tessera_testing


def run(tessera_bin, *args, simd=None):
    """tessera at its default SIMD level, or at the level `simd` forces."""
    return tessera_testing.run(tessera_bin, *args, check=False, env={"TESSERA_SIMD": simd})


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def supported_levels():
    flags = cpu_flags()
    levels = ["scalar"]
    if "avx2" in flags:
        levels.append("avx2")
    if {"avx512f", "avx512bw", "avx512vl", "avx512_vnni"} <= flags:
        levels.append("avx512")
        # Linux lists the AMX flags only where it supports the tile state, which tessera requests.
        if {"amx_tile", "amx_int8"} <= flags:
            levels.append("amx")
    return levels


def unsupported_level():
    """The best level this CPU lacks, or a name that is no level."""
    missing = [level for level in ("amx", "avx512") if level not in supported_levels()]
    return missing[0] if missing else "none"


@pytest.fixture(scope="module")
def library(tessera_bin, data_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("simd") / "lib.tsr"
    built = run(tessera_bin, "build", str(data_dir / "coins.png"), "--mode", "gray",
                "--tile", "8", "--stride", "4", "-o", str(path), "-q")
    assert built.returncode == 0, built.stderr
    return path


def test_info_and_version_name_the_default_level(tessera_bin, library):
    # amx is taken only when TESSERA_SIMD asks for it (opt-in until measured faster).
    best = [level for level in supported_levels() if level != "amx"][-1]
    info = run(tessera_bin, "info", str(library))
    assert info.returncode == 0, info.stderr
    assert f"simd        {best}" in info.stdout
    version = run(tessera_bin, "--version")
    assert version.returncode == 0
    assert f"(simd: {best})" in version.stdout


def test_forced_level_is_reported(tessera_bin, library):
    info = run(tessera_bin, "info", str(library), simd="scalar")
    assert "simd        scalar" in info.stdout


@pytest.mark.parametrize("value", ["sse9", "AVX2", unsupported_level()])
def test_unknown_or_unsupported_level_is_a_clear_error(tessera_bin, library, data_dir, tmp_path, value):
    for args in (["info", str(library)],
                 ["mosaic", str(library), str(data_dir / "coins.png"), "-o", str(tmp_path / "o.png")],
                 ["--version"]):
        result = run(tessera_bin, *args, simd=value)
        assert result.returncode == 1
        assert result.stderr.startswith(f"tessera: TESSERA_SIMD={value}")
        assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
        assert "scalar" in result.stderr
        # An unknown name lists every level; an unsupported one, those this CPU runs.
        if value not in ("amx", "avx512"):
            assert "avx512 or amx" in result.stderr
    assert not (tmp_path / "o.png").exists()


def test_every_level_and_thread_count_gives_the_same_matches(tessera_bin, library, data_dir, tmp_path):
    outputs = set()
    for level in supported_levels():
        for threads in ("1", "2"):
            matches = tmp_path / f"{level}-{threads}.csv"
            result = run(tessera_bin, "mosaic", str(library), str(data_dir / "coins.png"),
                         "-o", str(tmp_path / "o.png"), "--matches", str(matches),
                         "--threads", threads, "-q", simd=level)
            assert result.returncode == 0, result.stderr
            outputs.add(matches.read_text())
    assert len(outputs) == 1
