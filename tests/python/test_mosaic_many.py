"""tessera mosaic with many targets and --out-dir: each output the same bytes as the one-target
run's, directories expanded like build's inputs, a failing target reported and counted (fatal with
--strict), and name clashes and misused options refused before anything is written."""

import shutil

import pytest
from PIL import Image

from tessera_testing import assert_failed, files_in, run, run_on_terminal


@pytest.fixture(scope="module")
def library(tessera_bin, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("lib") / "lib.tsr"
    run(tessera_bin, "build", "-o", out, "--tile", 8, "--stride", 8, "--rotations", "0,90",
        "--mode", "gray", data_dir / "brick.png", data_dir / "coins.png", "-q")
    return out


@pytest.fixture(scope="module")
def targets(data_dir, tmp_path_factory):
    """A file, and a directory holding two images (one in a subdirectory) and a broken one."""
    d = tmp_path_factory.mktemp("targets")
    with Image.open(data_dir / "astronaut.png") as im:
        im.crop((0, 0, 101, 77)).save(d / "alone.png")
    folder = d / "folder"
    (folder / "sub").mkdir(parents=True)
    with Image.open(data_dir / "chelsea.png") as im:
        im.crop((10, 20, 90, 83)).save(folder / "cat.jpg", quality=95)
    with Image.open(data_dir / "horse.png") as im:
        im.convert("L").crop((0, 0, 64, 40)).save(folder / "sub" / "horse.png")
    (folder / "broken.png").write_bytes(b"not an image")
    return d


def one_by_one(tessera_bin, library, target, out, *options):
    run(tessera_bin, "mosaic", library, target, "-o", out, *options)
    return out.read_bytes()


def test_batch_equals_one_by_one(tessera_bin, library, targets, tmp_path):
    out = tmp_path / "out"
    proc = run(tessera_bin, "mosaic", library, targets / "alone.png", targets / "folder",
               "--out-dir", out, "--matches-format", "csv", "--threads", 2, check=False)
    # The broken image fails and is counted; the others are written.
    assert proc.returncode == 1, proc.stderr
    assert files_in(out) == ["alone.csv", "alone.png", "cat.csv", "cat.png", "horse.csv",
                             "horse.png"]
    lines = proc.stderr.splitlines()
    assert [l for l in lines if l.startswith("tessera: ")] == [
        f"tessera: {targets / 'folder' / 'broken.png'}: not a supported image format "
        "(PNG, JPEG, BMP, PNM, TIFF, WebP, GIF, HEIF)"]
    assert "tessera mosaic: 4 targets, 3 written, 1 failed" in lines[-1]
    for target in (targets / "alone.png", targets / "folder" / "cat.jpg",
                   targets / "folder" / "sub" / "horse.png"):
        stem = target.stem
        alone = one_by_one(tessera_bin, library, target, tmp_path / f"{stem}.png",
                           "--matches", tmp_path / f"{stem}.csv")
        assert (out / f"{stem}.png").read_bytes() == alone
        assert (out / f"{stem}.csv").read_bytes() == (tmp_path / f"{stem}.csv").read_bytes()


def test_format_and_json_matches(tessera_bin, library, targets, tmp_path):
    out = tmp_path / "out"
    run(tessera_bin, "mosaic", library, targets / "alone.png", "--out-dir", out, "--format", "jpg",
        "--quality", 70, "--matches-format", "json", "-q")
    assert files_in(out) == ["alone.jpg", "alone.json"]
    single = one_by_one(tessera_bin, library, targets / "alone.png", tmp_path / "a.jpg",
                        "--quality", 70, "--matches", tmp_path / "a.json")
    assert (out / "alone.jpg").read_bytes() == single
    assert (out / "alone.json").read_bytes() == (tmp_path / "a.json").read_bytes()


def test_strict_stops_at_the_first_failure(tessera_bin, library, targets, tmp_path):
    out = tmp_path / "out"
    # broken.png sorts before cat.jpg: nothing after it is made.
    proc = run(tessera_bin, "mosaic", library, targets / "alone.png", targets / "folder",
               "--out-dir", out, "--strict", check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith(
        f"tessera: {targets / 'folder' / 'broken.png'}: not a supported image format")
    assert files_in(out) == ["alone.png"]


def test_all_written_exits_zero_and_quiet_is_quiet(tessera_bin, library, targets, tmp_path):
    proc = run(tessera_bin, "mosaic", library, targets / "alone.png",
               targets / "folder" / "cat.jpg", "--out-dir", tmp_path / "a" / "b", "-q")
    assert proc.stderr == ""
    assert files_in(tmp_path / "a" / "b") == ["alone.png", "cat.png"]


def test_one_status_line_over_all_targets(tessera_bin, library, targets, tmp_path):
    code, statuses, rest = run_on_terminal(
        tessera_bin, "mosaic", library, targets / "alone.png", targets / "folder" / "cat.jpg",
        "--out-dir", tmp_path / "out")
    assert code == 0
    assert any(s.startswith("mosaic 1/2: ") for s in statuses)
    assert any(s.startswith("mosaic 2/2: ") and "matching" in s for s in statuses)
    assert "tessera mosaic: 2 targets, 2 written, 0 failed" in rest


def test_same_stem_refused_before_anything(tessera_bin, library, targets, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(targets / "alone.png", other / "alone.jpg")
    out = tmp_path / "out"
    proc = run(tessera_bin, "mosaic", library, targets / "alone.png", other / "alone.jpg",
               "--out-dir", out, check=False)
    assert_failed(proc, str(targets / "alone.png"), str(other / "alone.jpg"),
                  "would both be written as")
    assert not out.exists()
    proc = run(tessera_bin, "mosaic", library, targets / "alone.png", targets / "alone.png",
               "--out-dir", out, check=False)
    assert_failed(proc, "given twice")
    assert not out.exists()


def test_output_over_an_input_refused(tessera_bin, library, targets, tmp_path):
    folder = tmp_path / "t"
    shutil.copytree(targets / "folder" / "sub", folder)
    before = (folder / "horse.png").read_bytes()
    proc = run(tessera_bin, "mosaic", library, folder, "--out-dir", folder, check=False)
    assert_failed(proc, "would overwrite the input")
    assert (folder / "horse.png").read_bytes() == before


@pytest.mark.parametrize("args, message, code", [
    (["A", "B"], "2 targets given: several targets (or a directory) need --out-dir DIR", 2),
    (["DIR", "-o", "x.png"], "is a directory: --out-dir DIR rebuilds the images in it", 2),
    (["A"], "--output is required (or --out-dir DIR)", 2),
    (["A", "-o", "x.png", "--format", "jpg"], "go with --out-dir", 2),
    (["A", "-o", "x.png", "--strict"], "go with --out-dir", 2),
    (["A", "--out-dir", "o", "-o", "x.png"], "--output names one output; --out-dir replaces it", 2),
    (["A", "--out-dir", "o", "--matches", "m.csv"], "--matches-format csv|json", 2),
    (["A", "--out-dir", "o", "--quality", "50"], "--format png is written without loss", 2),
    (["A", "--out-dir", "o", "--format", "bmp"], ".bmp", 1),
    (["A", "--out-dir", "o", "--matches-format", "xml"], "xml", 2),
])
def test_misused_options(tessera_bin, library, targets, tmp_path, args, message, code):
    names = {"A": targets / "alone.png", "B": targets / "folder" / "cat.jpg",
             "DIR": targets / "folder"}
    args = [names.get(a, a) for a in args]
    proc = run(tessera_bin, "mosaic", library, *args, check=False, cwd=tmp_path)
    assert_failed(proc, message, code=code)
    assert files_in(tmp_path) == []
