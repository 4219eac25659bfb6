"""A mosaic's looks and measures (--metric, --color, --blend, --report, --timings and their
Library.mosaic forms), each against scikit-image or a numpy reference: SSIM and PSNR
(skimage.metrics), CIEDE2000 of cell means (skimage.color), the CIELAB bytes --metric lab
matches on (skimage.color.rgb2lab quantised the same way) and the exact match on them (brute
force), the colour transfer (Reinhard in CIELAB with skimage's conversions)."""

import json

import numpy as np
import pytest
from PIL import Image

import tessera
from tessera import _tessera
from tessera_testing import assert_failed, files_in, run

skcolor = pytest.importorskip("skimage.color")
skmetrics = pytest.importorskip("skimage.metrics")

# vips_col_XYZ2Lab interpolates a cube-root table and works in float: its CIELAB differs from
# skimage's by well under 0.01 (measured: below 0.002), so a mean CIEDE2000 agrees to 0.01.
CIEDE2000_TOLERANCE = 0.01
# skimage's uniform filter sums in floating point, tessera's window sums are exact integers.
SSIM_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def rgb(tmp_path_factory, data_dir):
    """An rgb library of 8x8 patches and a 100x75 target (edge tiles cropped)."""
    d = tmp_path_factory.mktemp("look")
    lib = tessera.Library.build([data_dir / "brick.png", data_dir / "grass.png"], tile=8,
                                stride=16)
    lib.save(d / "lib.tsr")
    with Image.open(data_dir / "coffee.png") as im:
        im.convert("RGB").resize((100, 75)).save(d / "target.png")
    target = np.asarray(Image.open(d / "target.png"))
    return d, tessera.Library.open(d / "lib.tsr"), target


def cell_means_lab(image, heights, widths):
    """The mean skimage CIELAB colour of each cell, row-major."""
    lab = skcolor.rgb2lab(image if image.ndim == 3 else np.dstack([image] * 3))
    means = []
    for y0, y1 in heights:
        for x0, x1 in widths:
            means.append(lab[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0))
    return np.array(means)


def cells(side, tile):
    return [(s, min(s + tile, side)) for s in range(0, side, tile)]


def lab_bytes_reference(rgb_pixels):
    """--metric lab's bytes from skimage's CIELAB: L*255/100, a+128, b+128, rounded half away
    from zero, clipped."""
    lab = skcolor.rgb2lab(rgb_pixels)
    scaled = np.stack([lab[..., 0] * 255 / 100, lab[..., 1] + 128, lab[..., 2] + 128], axis=-1)
    return np.clip(np.sign(scaled) * np.floor(np.abs(scaled) + 0.5), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("mode", ["rgb", "gray"])
def test_report_against_skimage(rgb, data_dir, mode):
    _, lib, target = rgb
    if mode == "gray":
        lib = tessera.Library.build([data_dir / "brick.png"], tile=8, stride=16, mode="gray")
        target = np.asarray(Image.fromarray(target).convert("L"))
    result, report = lib.mosaic(target, return_matches=True, report=True)
    image = result.image
    channel_axis = -1 if mode == "rgb" else None
    expected_ssim = skmetrics.structural_similarity(image, target, channel_axis=channel_axis,
                                                    data_range=255)
    assert abs(report["ssim"] - expected_ssim) < SSIM_TOLERANCE
    assert report["psnr"] == pytest.approx(
        skmetrics.peak_signal_noise_ratio(target, image, data_range=255), rel=1e-12)
    assert report["psnr"] == pytest.approx(result.psnr, rel=1e-12)
    assert report["compared"] == [target.shape[1], target.shape[0]]
    heights, widths = cells(target.shape[0], 8), cells(target.shape[1], 8)
    differences = skcolor.deltaE_ciede2000(cell_means_lab(image, heights, widths),
                                           cell_means_lab(target, heights, widths))
    assert abs(report["mean_ciede2000"] - differences.mean()) < CIEDE2000_TOLERANCE
    uses = np.bincount(result.matches["patch"])
    assert report["cells"] == len(result.matches)
    assert report["distinct_tiles"] == np.count_nonzero(uses)
    counts, patches = np.unique(uses[uses > 0], return_counts=True)
    assert report["uses_histogram"] == {str(c): int(p) for c, p in zip(counts, patches)}
    assert report["metric"] == "rgb"
    assert list(report["seconds"]) == ["decode", "search", "render", "report"]


def test_ssim_of_noise_and_of_a_shifted_image(rgb):
    """Away from a mosaic: two unrelated images, and an image against itself shifted (windows
    whose variances differ a lot), checked through a one-patch-per-pixel library's report."""
    d, _, target = rgb
    rng = np.random.default_rng(3)
    patches = rng.integers(0, 256, (50, 1, 1, 3), dtype=np.uint8)
    lib = tessera.Library.from_patches(patches)
    image, report = lib.mosaic(target, report=True)
    expected = skmetrics.structural_similarity(image, target, channel_axis=-1, data_range=255)
    assert abs(report["ssim"] - expected) < SSIM_TOLERANCE
    tiny, small_report = lib.mosaic(target[:6, :40], report=True)
    assert small_report["ssim"] is None  # under 7 pixels: skimage refuses it


def test_lab_bytes_against_skimage(rgb):
    _, lib, target = rgb
    ours = _tessera.lab_bytes(np.ascontiguousarray(target))
    reference = lab_bytes_reference(target)
    difference = np.abs(ours.astype(int) - reference)
    # Rounding a value within 0.01 of a half can go either way: at most 1 apart, rarely.
    assert difference.max() <= 1
    assert np.mean(difference > 0) < 0.01
    every = np.array([[[r, g, b] for b in (0, 128, 255) for g in (0, 128, 255)
                       for r in (0, 17, 128, 255)]], dtype=np.uint8)
    assert np.abs(_tessera.lab_bytes(every).astype(int) - lab_bytes_reference(every)).max() <= 1


def test_metric_lab_is_the_exact_nearest_on_lab_bytes(rgb):
    """Brute force on the CIELAB bytes: every tile's patch is the lowest id at the smallest
    squared distance, and that is the distance reported."""
    _, lib, target = rgb
    result = lib.mosaic(target, metric="lab", return_matches=True)
    patches = _tessera.lab_bytes(np.ascontiguousarray(
        lib.patches.reshape(-1, lib.tile[1], 3))).reshape(len(lib), *lib.tile, 3).astype(np.int64)
    lab_target = _tessera.lab_bytes(np.ascontiguousarray(target)).astype(np.int64)
    for m in result.matches:
        window = lab_target[m["y"]:m["y"] + m["height"], m["x"]:m["x"] + m["width"]]
        d = ((patches[:, :m["height"], :m["width"]] - window) ** 2).reshape(len(lib), -1).sum(1)
        assert m["patch"] == np.argmin(d) and m["distance"] == d.min()
    # Rendering pastes the library's own pixels, not their CIELAB bytes.
    first = result.matches[0]
    np.testing.assert_array_equal(result.image[:8, :8], lib.patches[first["patch"]])
    assert not np.array_equal(result.matches["patch"], lib.mosaic(target, return_matches=True)
                              .matches["patch"])


def reinhard_reference(tile, cell, amount):
    """The transfer with skimage's conversions: each CIELAB channel moved `amount` toward the
    cell's mean and standard deviation (a channel spreading less than 0.01 only shifted)."""
    t, c = skcolor.rgb2lab(tile).reshape(-1, 3), skcolor.rgb2lab(cell).reshape(-1, 3)
    flat = t.std(0) < 0.01
    spread = np.where(flat, 1, c.std(0) / np.where(flat, 1, t.std(0)))
    moved = t + amount * ((t - t.mean(0)) * spread + c.mean(0) - t)
    back = skcolor.lab2rgb(moved.reshape(tile.shape)) * 255
    return np.clip(np.floor(back + 0.5), 0, 255).astype(np.uint8)


@pytest.mark.filterwarnings("ignore:Color data out of range")
@pytest.mark.parametrize("amount", [0.4, 1.0])
def test_color_transfer_against_skimage(rgb, amount):
    _, lib, target = rgb
    result = lib.mosaic(target, color=amount, return_matches=True)
    plain = lib.mosaic(target)
    worst = 0
    close = []
    for m in result.matches:
        if m["width"] < 8 or m["height"] < 8:
            continue  # whole tiles only: the reference takes the whole patch
        ys, xs = slice(m["y"], m["y"] + 8), slice(m["x"], m["x"] + 8)
        expected = reinhard_reference(lib.patches[m["patch"]], target[ys, xs], amount)
        difference = np.abs(result.image[ys, xs].astype(int) - expected)
        worst = max(worst, difference.max())
        close.append(np.mean(difference <= 1))
    # Conversions differ slightly; where a full transfer leaves the gamut (skimage warns "Z < 0"),
    # libvips and skimage clip differently, on a few pixels.
    assert np.mean(close) > 0.99
    assert worst <= (4 if amount < 1 else 32)
    assert not np.array_equal(result.image, plain)


def test_color_transfer_of_gray_tiles_is_exact(rgb, data_dir):
    _, _, target = rgb
    lib = tessera.Library.build([data_dir / "brick.png"], tile=8, stride=16, mode="gray")
    gray = np.asarray(Image.fromarray(target).convert("L"))
    result = lib.mosaic(gray, color=0.5, return_matches=True)
    for m in result.matches[result.matches["width"] == 8][:40]:
        ys, xs = slice(m["y"], m["y"] + 8), slice(m["x"], m["x"] + 8)
        t = lib.patches[m["patch"]].astype(float)
        c = gray[ys, xs].astype(float)
        scale = c.std() / t.std() if t.std() >= 0.01 else 1
        moved = t + 0.5 * ((t - t.mean()) * scale + c.mean() - t)
        expected = np.clip(np.floor(moved + 0.5), 0, 255)
        # A value a rounding error away from a half may round either way.
        assert np.abs(result.image[ys, xs] - expected).max() <= 1


def test_zero_color_and_blend_leave_pixels_untouched_and_full_blend_is_the_target(rgb):
    _, lib, target = rgb
    plain = lib.mosaic(target)
    np.testing.assert_array_equal(lib.mosaic(target, color=0, blend=0.0), plain)
    np.testing.assert_array_equal(lib.mosaic(target, blend=1), target)
    half = lib.mosaic(target, blend=0.5).astype(int)
    expected = np.floor((plain.astype(int) + target) / 2 + 0.5)
    np.testing.assert_array_equal(half, expected)


def test_python_refuses_bad_values(rgb, data_dir):
    _, lib, target = rgb
    with pytest.raises(tessera.Error, match=r"^color: '1.5' is not a number from 0 to 1$"):
        lib.mosaic(target, color=1.5)
    with pytest.raises(tessera.Error, match=r"^blend: '-0.1' is not a number from 0 to 1$"):
        lib.mosaic(target, blend=-0.1)
    with pytest.raises(tessera.Error, match="blend: 'nan'"):
        lib.mosaic(target, blend=float("nan"))
    with pytest.raises(tessera.Error, match=r"^metric: unknown metric 'luv': use rgb or lab$"):
        lib.mosaic(target, metric="luv")
    with pytest.raises(TypeError, match="color must be a number"):
        lib.mosaic(target, color="0.5")
    with pytest.raises(TypeError, match="metric must be a str"):
        lib.mosaic(target, metric=None)
    with pytest.raises(TypeError, match="report must be True or False"):
        lib.mosaic(target, report=1)
    gray = tessera.Library.build([data_dir / "brick.png"], tile=8, mode="gray")
    with pytest.raises(tessera.Error, match="metric: lab compares colours and the library is a "
                                            "gray library"):
        gray.mosaic(target, metric="lab")


def test_cli_report_and_timings_match_python(rgb, tessera_bin):
    d, lib, target = rgb
    out, report, timings = d / "out.png", d / "report.json", d / "timings.json"
    run(tessera_bin, "mosaic", d / "lib.tsr", d / "target.png", "-o", out, "--color", "0.3",
        "--blend", "0.2", "--metric", "lab", "--report", report, "--timings", timings, "-q")
    written = json.loads(report.read_text())
    image, expected = lib.mosaic(target, color=0.3, blend=0.2, metric="lab", report=True)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), image)
    for key in ("psnr", "ssim", "compared", "mean_ciede2000", "cells", "distinct_tiles",
                "uses_histogram", "metric"):
        assert written[key] == expected[key], key
    assert written["metric"] == "lab"
    seconds = json.loads(timings.read_text())
    assert list(seconds) == ["open", "verify", "decode", "lab", "search", "render", "report",
                             "encode"]
    assert all(isinstance(v, float) and v >= 0 for v in seconds.values())
    assert written["seconds"] == seconds


def test_cli_zero_flags_are_byte_identical(rgb, tessera_bin):
    d, _, _ = rgb
    run(tessera_bin, "mosaic", d / "lib.tsr", d / "target.png", "-o", d / "plain.png", "-q")
    run(tessera_bin, "mosaic", d / "lib.tsr", d / "target.png", "-o", d / "zero.png", "-q",
        "--color", "0", "--blend", "0", "--metric", "rgb")
    assert (d / "plain.png").read_bytes() == (d / "zero.png").read_bytes()
    run(tessera_bin, "mosaic", d / "lib.tsr", d / "target.png", "-o", d / "full.png", "-q",
        "--blend", "1")
    np.testing.assert_array_equal(np.asarray(Image.open(d / "full.png")),
                                  np.asarray(Image.open(d / "target.png")))


@pytest.mark.parametrize("args, code, fragments", [
    (["--color", "1.5"], 2, ["--color: '1.5' is not a number from 0 to 1"]),
    (["--blend", "x"], 2, ["--blend: 'x' is not a number from 0 to 1"]),
    (["--metric", "luv"], 2, ["--metric: unknown metric 'luv': use rgb or lab"]),
    (["--report", "missing/report.json"], 1, ["missing/report.json", "does not exist"]),
    (["--timings", "OUT"], 1, ["would overwrite the output"]),
    (["--report", "lib.tsr"], 1, ["would overwrite the input"]),
])
def test_cli_refuses_and_writes_nothing(rgb, tessera_bin, tmp_path, args, code, fragments):
    d, _, _ = rgb
    (tmp_path / "lib.tsr").write_bytes((d / "lib.tsr").read_bytes())
    out = tmp_path / "out.png"
    args = [str(out) if a == "OUT" else a for a in args]
    proc = run(tessera_bin, "mosaic", "lib.tsr", d / "target.png", "-o", out, "--matches",
               "m.csv", *args, check=False, cwd=tmp_path)
    assert_failed(proc, *fragments, code=code)
    assert files_in(tmp_path) == ["lib.tsr"]


def test_cli_refuses_lab_for_a_gray_library(rgb, tessera_bin, data_dir, tmp_path):
    d, _, _ = rgb
    run(tessera_bin, "build", data_dir / "brick.png", "-o", tmp_path / "gray.tsr", "--mode",
        "gray", "-q")
    proc = run(tessera_bin, "mosaic", tmp_path / "gray.tsr", d / "target.png", "-o",
               tmp_path / "out.png", "--metric", "lab", check=False)
    assert_failed(proc, "--metric: lab compares colours", "gray.tsr is a gray library")
    assert files_in(tmp_path) == ["gray.tsr"]


def test_help_states_the_defaults(tessera_bin):
    text = " ".join(run(tessera_bin, "mosaic", "--help").stdout.split())
    for shown in ("--metric TEXT:rgb|lab=rgb", "--color FLOAT:A=0", "--blend FLOAT:A=0"):
        assert shown in text
    assert "--report" in text and "--timings" in text and "cheating" in text
