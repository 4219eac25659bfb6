# Stubs for the C++ extension tessera._tessera; the documented API is tessera.Library.
# Paths and source names are bytes (the file system's); the tessera package decodes them.
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

__version__: str
DEFAULT_MAX_PIXELS: int
DEFAULT_MAX_LIBRARY_BYTES: int
TRANSFORM_NAMES: List[str]

class Error(ValueError): ...

# The option checks the CLI uses too: each returns the value or raises Error naming `what`.
def check_threads(threads: int, what: str) -> int: ...
def check_max_pixels(max_pixels: int, what: str) -> int: ...
def check_tile(tile: Tuple[int, int], what: str) -> Tuple[int, int]: ...
def check_stride(stride: Tuple[int, int], what: str) -> Tuple[int, int]: ...
def check_rotations(degrees: List[int], what: str) -> List[int]: ...
def check_k(k: int, library: CoreLibrary) -> int: ...
def load_image(path: bytes, mode: str, max_pixels: int) -> np.ndarray: ...
def save_image(path: bytes, image: np.ndarray, quality: int = 90) -> None: ...
def find_images(directory: bytes) -> List[Tuple[bytes, str]]: ...
def assign(
    distances: np.ndarray, ids: np.ndarray, tiles: int, max_uses: int
) -> Tuple[np.ndarray, Dict[str, Any]]: ...

class CoreLibrary:
    @staticmethod
    def open(path: bytes) -> CoreLibrary: ...
    def save(self, path: bytes) -> None: ...
    def search(
        self,
        tiles: np.ndarray,
        k: int,
        threads: int,
        bruteforce: bool = False,
        progress: Optional[Callable[[int, int], object]] = None,
    ) -> Tuple[np.ndarray, np.ndarray]: ...
    def mosaic(
        self,
        target: np.ndarray,
        threads: int,
        bruteforce: bool = False,
        max_uses: int = 0,
        min_distance: int = 0,
        grid: Tuple[int, int] = (0, 0),  # (rows, columns); rows 0: the aspect ratio; columns 0: none
        render_size: Tuple[int, int] = (0, 0),  # (height, width); (0, 0): the library's
        max_pixels: int = ...,
        progress: Optional[Callable[[int, int], object]] = None,
    ) -> Tuple[np.ndarray, np.ndarray, float]: ...
    def __len__(self) -> int: ...
    @property
    def tile(self) -> Tuple[int, int]: ...
    @property
    def stride(self) -> Tuple[int, int]: ...
    @property
    def mode(self) -> str: ...
    @property
    def transforms(self) -> List[str]: ...
    @property
    def sources(self) -> List[Tuple[bytes, int, int, int, int]]: ...
    @property
    def path(self) -> bytes: ...
    @property
    def file_bytes(self) -> int: ...
    @property
    def checksum(self) -> int: ...
    @property
    def patches(self) -> np.ndarray: ...
    @property
    def origins(self) -> np.ndarray: ...

class Builder:
    def __init__(
        self,
        tile: Tuple[int, int],
        stride: Tuple[int, int],
        mode: str,
        rotations: List[int],
        flips: bool,
        transform_sources: bool,
        whole: bool = False,
        render: Tuple[int, int] = (0, 0),
        fit: str = "crop",
    ) -> None: ...
    def add(
        self,
        # (path, None) or (name, a function returning a C-contiguous uint8 array)
        inputs: Sequence[Tuple[bytes, Optional[Callable[[], np.ndarray]]]],
        strict: bool,
        max_pixels: int,
        max_library_bytes: int,
        threads: int,
        progress: Optional[Callable[[int, int], object]] = None,
    ) -> None: ...
    def finish(self) -> CoreLibrary: ...
