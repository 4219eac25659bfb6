"""Images given to tessera as paths, PIL images or numpy arrays, made into the C-contiguous uint8
arrays (H, W) gray or (H, W, 3) RGB the extension takes; and the tiles given to search."""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable, Iterable, List, Optional, Tuple

import numpy as np

from . import _arguments, _tessera

# What Builder.add takes for each image: (path, None) for a file or directory, or (name, a
# function returning the pixels) for an image in memory.
BuildInput = Tuple[bytes, Optional[Callable[[], np.ndarray]]]


# A float image's range decides its conversion: clipping a [0, 1] image would make it black.
_UINT8_ADVICE = (
    "convert with np.rint(a * 255).astype(np.uint8) for values in [0, 1], or "
    "np.clip(np.rint(a), 0, 255).astype(np.uint8) for values in [0, 255]"
)


def build_inputs(images: Any) -> List[BuildInput]:
    """Checks every image now. A list or tuple holds its images through the build, so each is
    converted in its turn (see _pixel_maker), one copy at a time; any other iterable may reuse or
    close what it yields (PIL's ImageSequence.Iterator, a generator of Image.open, one buffer
    refilled), so its items are converted as they are yielded."""
    in_turn = isinstance(images, (list, tuple))
    inputs: List[BuildInput] = []
    for index, item in enumerate(_image_items(images)):
        if isinstance(item, _arguments.PATH_TYPES):
            inputs.append((_arguments.existing_path(item), None))
            continue
        make = _pixel_maker(item, f"images[{index}]")
        if not in_turn:
            make = functools.partial(lambda pixels: pixels, make())
        inputs.append((os.fsencode(_default_name(item, index)), make))
    return inputs


def target_pixels(target: Any, mode: str, max_pixels: int) -> np.ndarray:
    """A target: a file decoded in ``mode`` as the CLI decodes it, or a PIL image or array."""
    if isinstance(target, _arguments.PATH_TYPES):
        return _tessera.load_image(_arguments.existing_path(target), mode, max_pixels)
    return _pixel_maker(target, "target")()


def image_pixels(image: Any, what: str) -> np.ndarray:
    """A PIL image or numpy array as a C-contiguous uint8 (H, W) or (H, W, 3) array."""
    return _pixel_maker(image, what)()


def integer_pixels(array: Any, what: str) -> np.ndarray:
    """A numpy array of uint8, or of any integer dtype with every value 0 to 255, as uint8."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, got {type(array).__name__}")
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind not in "iu":
        raise TypeError(
            f"{what} must be uint8 (or integers 0 to 255), got dtype {array.dtype}; "
            + _UINT8_ADVICE
        )
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(
            f"{what} must hold values 0 to 255, got {array.min()} to {array.max()}"
        )
    return array.astype(np.uint8)


def tiles_array(tiles: Any, tile: Tuple[int, int], mode: str) -> np.ndarray:
    """Search queries as C-contiguous uint8 (n, h, w) or (n, h, w, 3), h and w at most the
    library's tile (height, width); flattened full tiles (n, pixels) are reshaped."""
    h, w = tile
    c = 1 if mode == "gray" else 3
    expected = "(n, h, w)" if c == 1 else "(n, h, w, 3)"
    expected += f" with h <= {h} and w <= {w}, or flattened (n, {h * w * c})"
    if not isinstance(tiles, np.ndarray):
        raise TypeError(f"tiles must be a numpy uint8 array {expected}, got {type(tiles).__name__}")
    if tiles.dtype != np.uint8:
        raise TypeError(f"tiles must be uint8, got {tiles.dtype}; pixels are 0 to 255")
    if tiles.ndim == 2 and tiles.shape[1] == h * w * c:
        tiles = tiles.reshape((len(tiles), h, w) + ((c,) if c == 3 else ()))
    ok = tiles.ndim == (3 if c == 1 else 4) and (c == 1 or tiles.shape[3] == 3)
    if not ok or not (1 <= tiles.shape[1] <= h and 1 <= tiles.shape[2] <= w):
        raise ValueError(f"the library is {mode}: tiles must be {expected}, got {tiles.shape}")
    return np.ascontiguousarray(tiles)


def _is_pil(obj: Any) -> bool:
    pil = sys.modules.get("PIL.Image")  # loaded if the caller has a PIL image at all
    return pil is not None and isinstance(obj, pil.Image)


def _image_items(images: Any) -> Iterable[Any]:
    if isinstance(images, _arguments.PATH_TYPES) or _is_pil(images):
        return [images]
    if isinstance(images, np.ndarray):
        # Not iterated: an (H, W, 3) image and a stack of (H, 3) images look the same.
        shape = images.shape
        one = len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3))
        stack = len(shape) in (3, 4)
        if not (one or stack):
            raise TypeError(
                "images must be a list of images (paths, PIL images or arrays), got an array "
                f"of shape {shape}"
            )
        advice = " or ".join(
            ["[array] for a single image"] * one
            + [f"list(array) for a stack of {shape[0]} images"] * stack
        )
        raise TypeError(f"images must be a list of images, not one array: pass {advice}")
    try:
        return iter(images)
    except TypeError:
        raise TypeError(
            f"images must be a path or an iterable of paths, PIL images and numpy arrays, "
            f"got {type(images).__name__}"
        ) from None


def _default_name(image: Any, index: int) -> str:
    if _is_pil(image):
        return getattr(image, "filename", "") or f"<image {index}>"
    return f"<array {index}>"


# PIL modes taken as they are, and those turned into one of them first (palette, alpha, CMYK...).
_PIL_GRAY_LIKE = {"1", "L", "LA", "La"}
_PIL_COLOUR = {"P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"}


def _pixel_maker(image: Any, what: str) -> Callable[[], np.ndarray]:
    """Checks a PIL image or numpy array now and returns what makes it a C-contiguous uint8
    (H, W) or (H, W, 3) array later: the array itself if it is one, else a converted copy.
    build calls it in the image's turn, so that converted copies are made one at a time."""
    if _is_pil(image):
        if image.mode in _PIL_GRAY_LIKE:
            mode = "L"
        elif image.mode in _PIL_COLOUR:
            mode = "RGB"
        else:
            raise ValueError(
                f"{what}: PIL mode {image.mode!r} (16-bit or float) is not supported: pass the "
                "file path (decoded like the CLI) or convert it to 'L' or 'RGB'"
            )
        return lambda: np.asarray(image.convert(mode) if image.mode != mode else image)
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"{what} must be a path, a PIL image or a numpy uint8 array (H, W) or (H, W, 3), "
            f"got {type(image).__name__}"
        )
    if image.dtype != np.uint8:
        raise TypeError(f"{what} must be uint8 (H, W) or (H, W, 3), got dtype {image.dtype}; "
                        + _UINT8_ADVICE)
    if image.ndim == 3 and image.shape[2] == 4:
        raise ValueError(f"{what} has 4 channels: drop alpha with a[..., :3]")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))):
        raise ValueError(f"{what} must have shape (H, W) or (H, W, 3), got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{what} is empty: shape {image.shape}")
    return lambda: np.ascontiguousarray(image)
