"""Checks of Library's arguments. Types are checked here (TypeError, as numpy and scikit-learn
do); values by the checks the CLI uses too (tessera/pipeline/options.hpp), which raise
tessera.Error (a ValueError) in the CLI's words, naming the argument."""

from __future__ import annotations

import os
from typing import Any, List, Tuple

import numpy as np

from . import _tessera

PATH_TYPES = (str, bytes, os.PathLike)


def is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def flag(value: Any, what: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be True or False, got {value!r}")
    return bool(value)


def _pair(value: Any, what: str) -> Tuple[int, int]:
    pair = (value, value) if is_int(value) else value
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(is_int(v) for v in pair)):
        raise TypeError(f"{what} must be an int or a (height, width) pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def tile(value: Any) -> Tuple[int, int]:
    """(height, width), 1 to 128 per side."""
    return _tessera.check_tile(_pair(value, "tile"), "tile")


def stride(value: Any) -> Tuple[int, int]:
    """(height, width), 1 to 65536 per side."""
    return _tessera.check_stride(_pair(value, "stride"), "stride")


def rotations(value: Any) -> List[int]:
    if not isinstance(value, (tuple, list, range, np.ndarray)) or not all(
        is_int(r) for r in value
    ):
        raise TypeError(f"rotations must be a sequence of ints like (0, 90), got {value!r}")
    return _tessera.check_rotations([int(r) for r in value], "rotations")


def max_pixels(value: Any) -> int:
    if not is_int(value):
        raise TypeError(f"max_pixels must be an int, got {value!r}")
    return _tessera.check_max_pixels(int(value), "max_pixels")


def max_library_bytes(value: Any) -> int:
    if not is_int(value):
        raise TypeError(f"max_library_bytes must be an int, got {value!r}")
    return _tessera.check_max_pixels(int(value), "max_library_bytes")


def mode(value: Any) -> str:
    """The core refuses a str other than 'gray' or 'rgb'."""
    if not isinstance(value, str):
        raise TypeError(f"mode must be a str, 'gray' or 'rgb', got {value!r}")
    return value


def threads(value: Any) -> int:
    """0 or None: all cores."""
    if value is None:
        return 0
    if not is_int(value):
        raise TypeError(f"threads must be an int or None, got {value!r}")
    return _tessera.check_threads(int(value), "threads")


def _limit(value: Any, name: str, end: int) -> int:
    """None: no limit (0 to the core); else an int from 1 to end - 1."""
    if value is None:
        return 0
    if not is_int(value):
        raise TypeError(f"{name} must be an int or None, got {value!r}")
    if not 1 <= value < end:
        raise _tessera.Error(f"{name} must be from 1 to {end - 1}, got {value}")
    return int(value)


def max_uses(value: Any) -> int:
    return _limit(value, "max_uses", 2**32)


def min_distance(value: Any) -> int:
    return _limit(value, "min_distance", 2**31)


def fraction(value: Any, what: str) -> float:
    """0 to 1 (color, blend): an int or a float."""
    if not (is_int(value) or isinstance(value, (float, np.floating))):
        raise TypeError(f"{what} must be a number from 0 to 1, got {value!r}")
    return _tessera.check_fraction(float(value), what)


def metric(value: Any, core: _tessera.CoreLibrary) -> str:
    """'rgb' or 'lab' (lab refused for a gray library)."""
    if not isinstance(value, str):
        raise TypeError(f"metric must be a str, 'rgb' or 'lab', got {value!r}")
    return _tessera.check_metric(value, "metric", core)


def k(value: Any, core: _tessera.CoreLibrary) -> int:
    if not is_int(value):
        raise TypeError(f"k must be an int, got {value!r}")
    return _tessera.check_k(int(value), core)


def path_bytes(path: Any) -> bytes:
    """The file name as the system takes it (the core's paths are bytes)."""
    if not isinstance(path, PATH_TYPES):
        raise TypeError(f"a path must be str, bytes or os.PathLike, got {type(path).__name__}")
    return os.fsencode(path)


def existing_path(path: Any) -> bytes:
    path = path_bytes(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", os.fsdecode(path))
    return path
