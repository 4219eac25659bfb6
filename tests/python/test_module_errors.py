"""Bad arguments raise the documented exceptions, with messages that say what was expected."""

import os
import pickle
import re
import stat
import subprocess
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

import tessera

U8 = np.zeros((32, 32), np.uint8)


@pytest.fixture(scope="module")
def lib():
    ramp = (np.arange(64 * 64) % 256).astype(np.uint8).reshape(64, 64)
    return tessera.Library.build([ramp], tile=8, mode="gray")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(images=U8), TypeError, r"not one array: pass \[array\] for a single image$"),
        (dict(images=np.zeros((8, 8, 3), np.uint8)), TypeError,
         r"\[array\] for a single image or list\(array\) for a stack of 8 images"),
        (dict(images=np.zeros((4, 8, 8), np.uint8)), TypeError,
         r"not one array: pass list\(array\) for a stack of 4 images$"),
        (dict(images=np.zeros((4, 8, 8, 3), np.uint8)), TypeError, r"list\(array\) for a stack"),
        (dict(images=np.zeros(8, np.uint8)), TypeError, r"got an array of shape \(8,\)"),
        (dict(images=[U8.astype(np.float32)]), TypeError, r"images\[0\] must be uint8"),
        (dict(images=[np.zeros((32, 32, 4), np.uint8)]), ValueError, "drop alpha"),
        (dict(images=[np.zeros((4, 8, 8, 3), np.uint8)]), ValueError, r"\(H, W\) or \(H, W, 3\)"),
        (dict(images=[np.zeros((0, 32), np.uint8)]), ValueError, "empty"),
        (dict(images=[42]), TypeError, "path, a PIL image or a numpy uint8 array"),
        (dict(images=42), TypeError, "iterable of paths"),
        (dict(images=["/no/such/file.png"]), FileNotFoundError, "/no/such/file.png"),
        (dict(images=[U8], tile=0), tessera.Error, "tile 0x0 is out of range"),
        (dict(images=[U8], tile=200), tessera.Error, "1 to 128"),
        (dict(images=[U8], tile=16.0), TypeError, r"int or a \(height, width\) pair"),
        (dict(images=[U8], tile=(8, 8, 8)), TypeError, "pair"),
        (dict(images=[U8], stride=-1), tessera.Error, "stride -1x-1 is out of range: each side must be 1 to 65536"),
        (dict(images=[U8], stride=(4, 65537)), tessera.Error, "stride 65537x4 is out of range"),
        (dict(images=[U8], rotations=90), TypeError, "sequence of ints"),
        (dict(images=[U8], rotations=(45,)), tessera.Error, "^rotations: invalid rotation 45: rotations are 0, 90, 180 or 270 degrees$"),
        (dict(images=[U8], rotations=(2**40,)), tessera.Error, "invalid rotation 1099511627776"),
        (dict(images=[U8], rotations=(-(2**63),)), tessera.Error, "0, 90, 180 or 270"),
        (dict(images=[U8], rotations=(0, 2**70)), tessera.Error, "invalid rotation 1180591620717411303424"),
        (dict(images=[U8], rotations=()), tessera.Error, "at least one rotation"),
        (dict(images=[U8], tile=(8, 16), rotations=(90,)), tessera.Error, "square tile"),
        (dict(images=[U8], flips="yes"), TypeError, "True or False"),
        (dict(images=[U8], strict=1), TypeError, "strict must be True or False"),
        (dict(images=[U8], max_pixels=0), tessera.Error, "^max_pixels: '0' is not a whole number from 1 to 18446744073709551615$"),
        (dict(images=[U8], max_pixels=2**64), tessera.Error, "max_pixels: '18446744073709551616' is not a whole number from 1"),
        (dict(images=[U8], max_pixels=1e9), TypeError, "max_pixels must be an int"),
                (dict(images=[U8], threads=4097), tessera.Error, "^threads: '4097' is not a whole number from 0 to 4096$"),
        (dict(images=[U8], threads=-1), tessera.Error, "threads: '-1' is not a whole number from 0 to 4096"),
        (dict(images=[U8], threads=-(2**70)), tessera.Error, "threads: '-1180591620717411303424' is not a whole number from 0 to 4096"),
        (dict(images=[U8], tile=(8, 2**40)), tessera.Error, "tile 1099511627776x8 is out of range: each side must be 1 to 128"),
        (dict(images=[U8], mode="grey"), tessera.Error, "invalid mode 'grey': expected gray or rgb"),
        (dict(images=[U8], mode=b"gray"), TypeError, "mode must be a str, 'gray' or 'rgb'"),
        (dict(images=[U8], mode=None), TypeError, "mode must be a str"),
    ],
)
def test_build_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        tessera.Library.build(**kwargs)


def test_the_advice_for_an_array_of_images_works():
    stack = np.stack([U8, U8 + 1, U8 + 2])
    with pytest.raises(TypeError, match=r"list\(array\)"):
        tessera.Library.build(stack, tile=8, mode="gray")
    assert len(tessera.Library.build(list(stack), tile=8, mode="gray").sources) == 3
    with pytest.raises(TypeError, match=r"\[array\]"):
        tessera.Library.build(U8, tile=8, mode="gray")
    assert len(tessera.Library.build([U8], tile=8, mode="gray").sources) == 1


def test_corrupt_image_file_and_library_file(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(tessera.Error, match="bad.png: not a supported image format"):
        tessera.Library.build([bad])
    with pytest.raises(tessera.Error, match="not a tessera library"):
        tessera.Library.open(bad)
    with pytest.raises(FileNotFoundError):
        tessera.Library.open(tmp_path / "missing.tsr")
    assert issubclass(tessera.Error, ValueError)


def test_no_patches():
    with pytest.warns(UserWarning, match="smaller than the tile"):
        with pytest.raises(tessera.Error, match="no patches"):
            tessera.Library.build([U8], tile=64)


def test_too_small_array_warns_in_width_x_height_or_fails_when_strict():
    small = np.zeros((6, 12), np.uint8)  # 12 wide, 6 high
    low = np.zeros((4, 40), np.uint8)  # wide enough, not high enough
    message = "<array 0>: 12x6 is smaller than the tile 16x8"
    with pytest.warns(UserWarning) as caught:
        lib = tessera.Library.build([small, low, U8], tile=(8, 16), mode="gray")
    assert [str(w.message) for w in caught] == [
        message + "; no patches from it",
        "<array 1>: 40x4 is smaller than the tile 16x8; no patches from it"]
    assert len(lib.sources) == 1
    with pytest.raises(tessera.Error) as e:
        tessera.Library.build([small, U8], tile=(8, 16), strict=True)
    assert str(e.value) == message


def test_warnings_turned_into_errors_stop_the_build(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="bad.png: not a supported image format"):
            tessera.Library.build(tmp_path)


@pytest.mark.parametrize("threads", [None, 1, 2, 3])
def test_build_warnings_point_at_the_caller_from_any_decoding_thread(tmp_path, threads):
    """Files are decoded on several threads; their warnings are issued afterwards, in order,
    from the calling thread, so each one's location is the line that called build."""
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"not an image")
    Image.new("L", (16, 16)).save(tmp_path / "c.png")
    for _ in range(4):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tessera.Library.build(tmp_path, tile=8, threads=threads)
            line = sys._getframe().f_lineno - 1
        assert [re.sub(":.*", "", str(w.message)) for w in caught] == [
            str(tmp_path / "a.png"), str(tmp_path / "b.png")]
        assert [(w.filename, w.lineno) for w in caught] == [(__file__, line)] * 2


@pytest.mark.parametrize("threads", [1, 2])
def test_an_image_that_fails_to_convert_in_its_turn_raises_what_pil_raised(tmp_path, threads):
    """PIL images are converted in their turn, on whichever thread adds them: a truncated file,
    which PIL reads only then, raises PIL's error there, after the warnings before it."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "bad.png").write_bytes(b"not an image")
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8)
    Image.fromarray(noise).save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with Image.open(tmp_path / "cut.png") as cut:
        with pytest.warns(UserWarning, match="bad.png: not a supported image format"):
            with pytest.raises(OSError, match="image file is truncated"):
                tessera.Library.build([tmp_path / "d", U8, cut, tmp_path / "whole.png"], tile=8,
                                      threads=threads)


@pytest.mark.parametrize(
    "tiles, error, message",
    [
        ([[0] * 64], TypeError, "numpy uint8 array"),
        (np.zeros((2, 8, 8), np.float64), TypeError, "tiles must be uint8"),
        (np.zeros((2, 8, 8, 3), np.uint8), ValueError, r"is gray: tiles must be \(n, h, w\)"),
        (np.zeros((2, 9, 8), np.uint8), ValueError, "h <= 8"),
        (np.zeros((2, 8, 0), np.uint8), ValueError, "w <= 8"),
        (np.zeros((8, 8), np.uint8), ValueError, r"flattened \(n, 64\)"),
    ],
)
def test_search_tiles(lib, tiles, error, message):
    with pytest.raises(error, match=message):
        lib.search(tiles)


def test_search_k_and_threads(lib):
    tiles = np.zeros((1, 8, 8), np.uint8)
    with pytest.raises(TypeError, match="k must be an int"):
        lib.search(tiles, k=2.0)
    with pytest.raises(tessera.Error, match="out of range"):
        lib.search(tiles, k=len(lib) + 1)
    with pytest.raises(tessera.Error, match="out of range"):
        lib.search(tiles, k=0)
    for k in (2**31, 2**64, -(2**31) - 1):
        with pytest.raises(tessera.Error, match=f"k = {k} is out of range: the library has 64"):
            lib.search(tiles, k=k)
    with pytest.raises(tessera.Error, match="threads: '4097' is not a whole number from 0 to 4096"):
        lib.search(tiles, threads=4097)
    with pytest.raises(TypeError, match="threads must be an int"):
        lib.mosaic(U8, threads="all")
    dist, ids = lib.search(np.zeros((0, 8, 8), np.uint8), k=3)
    assert dist.shape == ids.shape == (0, 3)


def test_mosaic_targets(lib):
    with pytest.raises(TypeError, match="target must be uint8"):
        lib.mosaic(U8.astype(np.int64))
    with pytest.raises(TypeError, match="target must be a path, a PIL image"):
        lib.mosaic([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="PIL mode 'I;16'"):
        lib.mosaic(Image.new("I;16", (16, 16)))
    with pytest.raises(TypeError, match="return_matches"):
        lib.mosaic(U8, return_matches=1)
    with pytest.raises(tessera.Error, match="max_pixels: '-1' is not a whole number from 1"):
        lib.mosaic(U8, max_pixels=-1)


def test_arrays_too_large_and_empty_have_their_own_messages(lib):
    wide = np.zeros((1, 2**31), np.uint8)  # calloc'd: no memory is touched
    message = r"is too large: shape \(1, 2147483648\); each side must be at most 2147483647 pixels"
    with pytest.raises(ValueError, match="the target " + message):
        lib.mosaic(wide)
    with pytest.raises(ValueError, match="<array 1> " + message):  # named as in its warnings
        tessera.Library.build([U8, wide], tile=8, mode="gray")
    with pytest.raises(ValueError, match="must have at least one pixel"):
        lib._core.mosaic(np.zeros((0, 5), np.uint8), 1)


def test_provenance_ids(lib):
    with pytest.raises(IndexError, match=f"0 to {len(lib) - 1}"):
        lib.provenance([0, len(lib)])
    with pytest.raises(IndexError):
        lib.provenance(-1)
    with pytest.raises(TypeError, match="integers"):
        lib.provenance([0.5])
    for ids in (2**70, [0, -(2**70)], np.uint64(2**64 - 1)):
        with pytest.raises(IndexError, match=f"0 to {len(lib) - 1}"):
            lib.provenance(ids)
    assert list(lib.provenance(np.array([3, 1], object)).x) == [24, 8]
    for ids in ([], np.zeros((2, 0), np.int32), [[]]):
        info = lib.provenance(ids)
        assert all(f.shape == np.shape(ids) for f in info) and info.x.dtype == np.int64


def test_save_refuses_to_overwrite_a_source(tmp_path, monkeypatch):
    victim = tmp_path / "victim.png"
    Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16)).save(victim)
    before = victim.read_bytes()
    monkeypatch.chdir(tmp_path)
    lib = tessera.Library.build(["victim.png"], tile=8)
    (tmp_path / "soft.png").symlink_to(victim)
    os.link(victim, tmp_path / "hard.png")
    for target in ("victim.png", victim, tmp_path / "soft.png", "hard.png"):
        message = f"{target}: would overwrite the input victim.png; choose another output"
        with pytest.raises(tessera.Error, match=re.escape(message)):
            lib.save(target)
    assert victim.read_bytes() == before and lib.path is None
    lib.save("lib.tsr")
    opened = tessera.Library.open("lib.tsr")
    with pytest.raises(tessera.Error, match="would overwrite the input victim.png"):
        opened.save(victim)
    assert victim.read_bytes() == before


def test_save_refuses_a_source_after_the_working_directory_changed(tmp_path, monkeypatch):
    """Sources are named as given to build, often relative to the working directory then: save
    recognises them by file identity, not by that name, whatever the directory is now."""
    (tmp_path / "train").mkdir()
    victim = tmp_path / "train" / "victim.png"
    Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16)).save(victim)
    before = victim.read_bytes()
    (tmp_path / "elsewhere" / "train").mkdir(parents=True)
    other = tmp_path / "elsewhere" / "train" / "victim.png"  # the same name, another file
    other.write_bytes(before)
    for images in (["train/victim.png"], ["train"]):  # named, and found in a directory
        monkeypatch.chdir(tmp_path)
        lib = tessera.Library.build(images, tile=8)
        monkeypatch.chdir(tmp_path / "elsewhere")
        for target in (victim, os.path.relpath(victim)):
            with pytest.raises(tessera.Error, match="would overwrite the input train/victim.png"):
                lib.save(target)
        assert victim.read_bytes() == before and lib.path is None
        lib.save("train/victim.png")  # not a source: it only has the source's name
        assert tessera.Library.open(other).sources == lib.sources
        other.write_bytes(before)


def test_save_refuses_a_source_replaced_since_the_build(tmp_path, monkeypatch):
    """A source rewritten through a temporary and a rename (as editors save) is a new file under
    the same name: still the input, still refused."""
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16)).save("train.png")
    lib = tessera.Library.build(["train.png"], tile=8)
    Image.fromarray(np.zeros((16, 16), np.uint8)).save("new.png")
    os.replace("new.png", "train.png")
    before = (tmp_path / "train.png").read_bytes()
    with pytest.raises(tessera.Error, match="would overwrite the input train.png"):
        lib.save(tmp_path / "train.png")
    assert (tmp_path / "train.png").read_bytes() == before


def test_save_over_the_mapped_file_leaves_the_mapping_intact(tmp_path):
    """save() writes a new file and renames it over the old one, so a Library memory-mapped from
    that file keeps its pages: saving it onto itself, or another library over it, is safe."""
    ramp = (np.arange(64 * 64) % 256).astype(np.uint8).reshape(64, 64)
    path = tmp_path / "lib.tsr"
    tessera.Library.build([ramp], tile=8, mode="gray").save(path)
    opened = tessera.Library.open(path)
    before = path.read_bytes()
    expected = opened.mosaic(ramp[::-1])
    opened.save(path)
    assert path.read_bytes() == before and (opened.mosaic(ramp[::-1]) == expected).all()
    other = tessera.Library.build([ramp[::-1].copy()], tile=8, mode="gray")
    other.save(path)
    assert (opened.mosaic(ramp[::-1]) == expected).all() and not (expected == ramp[::-1]).all()
    assert (tessera.Library.open(path).mosaic(ramp[::-1]) == ramp[::-1]).all()
    with pytest.raises(tessera.Error, match="holds another library"):
        pickle.loads(pickle.dumps(opened))


TRUNCATING = """
import os, sys
import numpy as np
import tessera
ramp = (np.arange(256 * 256) % 251).astype(np.uint8).reshape(256, 256)
path = sys.argv[1]
tessera.Library.build([ramp], tile=8, stride=2, mode="gray").save(path)
lib = tessera.Library.open(path)
os.truncate(path, 8192)
calls = {"brute force": lambda: lib._core.search(np.zeros((1, 8, 8), np.uint8), 1, 1, True),
         "mosaic": lambda: lib.mosaic(ramp[::-1])}
try:
    calls[sys.argv[2]]()
    print("no error")
except tessera.Error as e:
    print(e)
"""


@pytest.mark.parametrize("call", ["brute force", "mosaic"])
def test_a_library_truncated_while_open_fails_with_a_message_not_a_signal(tmp_path, call):
    """Another program truncating a mapped library used to kill the interpreter with SIGBUS. A
    read past the new end now reads zeros and the call raises; where the zeros break the search
    index's invariants first, the process stops with a message and status 1 instead of a crash."""
    path = tmp_path / "lib.tsr"
    run = subprocess.run([sys.executable, "-c", TRUNCATING, str(path), call],
                         capture_output=True, text=True, timeout=120)
    if call == "brute force" or run.returncode == 0:
        assert run.returncode == 0, run.stderr
        assert run.stdout == (
            f"{path}: could not be read while in use (another program truncated or replaced it "
            "in place, or a disk error); what was read from it is discarded: open it again\n")
    else:
        assert run.returncode == 1 and run.stdout == ""
        assert run.stderr == (f"tessera: {path}: truncated or replaced in place by another "
                              "program while in use; stopping\n")


def test_library_cannot_be_made_directly():
    with pytest.raises(TypeError, match="Library.build"):
        tessera.Library()


def test_save_refuses_what_is_not_a_regular_file_and_writes_through_links(tmp_path):
    lib = tessera.Library.build([(np.arange(32 * 32) % 251).astype(np.uint8).reshape(32, 32)],
                                tile=8, mode="gray")
    os.mkfifo(tmp_path / "pipe.tsr")
    os.symlink("pipe.tsr", tmp_path / "to-pipe.tsr")
    for name in ("pipe.tsr", "to-pipe.tsr"):  # renaming over the FIFO would replace it
        with pytest.raises(tessera.Error, match=r"is a named pipe \(FIFO\), not a regular file"):
            lib.save(tmp_path / name)
    with pytest.raises(tessera.Error, match="is a directory, not a regular file"):
        lib.save(tmp_path)
    os.symlink("missing/v1.tsr", tmp_path / "dangling.tsr")
    with pytest.raises(tessera.Error, match="missing does not exist; create it first"):
        lib.save(tmp_path / "dangling.tsr")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe.tsr").st_mode)
    assert lib.path is None
    # A link is written through: the file it names is created, the link stays a link.
    (tmp_path / "libs").mkdir()
    os.symlink("libs/v1.tsr", tmp_path / "current.tsr")
    lib.save(tmp_path / "current.tsr")
    assert os.readlink(tmp_path / "current.tsr") == "libs/v1.tsr"
    assert len(tessera.Library.open(tmp_path / "libs" / "v1.tsr")) == len(lib)
    assert sorted(os.listdir(tmp_path)) == ["current.tsr", "dangling.tsr", "libs", "pipe.tsr",
                                            "to-pipe.tsr"]
    assert os.listdir(tmp_path / "libs") == ["v1.tsr"]


@pytest.mark.parametrize("section", ["pixels", "tails"])
def test_a_library_whose_index_disagrees_with_its_pixels_raises(tmp_path, section):
    """Checksums recomputed after the change: a tessera.Error, not an abort of the interpreter."""
    import tessera_testing

    image = np.random.default_rng(3).integers(0, 256, (48, 40, 3), np.uint8)
    tessera.Library.build([image], tile=8, stride=4).save(tmp_path / "lib.tsr")
    data = bytearray((tmp_path / "lib.tsr").read_bytes())
    at, size = tessera_testing.section(data, section)
    if section == "pixels":
        data[at:at + size] = bytes(size)
    else:
        data[at] ^= 1
    tessera_testing.reseal(data)
    (tmp_path / "crafted.tsr").write_bytes(bytes(data))
    lib = tessera.Library.open(tmp_path / "crafted.tsr")
    message = f"{tmp_path / 'crafted.tsr'}: search index disagrees with its patches"
    with pytest.raises(tessera.Error, match=re.escape(message)):
        lib.mosaic(image)
    with pytest.raises(tessera.Error, match=re.escape(message)):
        lib.search(image[:8, :8][None], k=1)

