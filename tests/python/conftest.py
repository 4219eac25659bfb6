import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def tessera_bin():
    path = os.environ.get("TESSERA_BIN", str(ROOT / "build" / "tessera"))
    if not os.path.exists(path):
        pytest.fail(f"tessera binary not found at {path}; run scripts/build.sh")
    return path


@pytest.fixture(scope="session")
def data_dir():
    return DATA
