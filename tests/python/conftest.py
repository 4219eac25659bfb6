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


def pytest_collection_modifyitems(config, items):
    # The sanitizer job (scripts/sanitize.sh) sanitizes the tessera command only: the Python
    # module is the ordinary build's, which the plain run has just tested. Tests that run no
    # tessera command would repeat that run for nothing.
    if "TESSERA_SANITIZED" not in os.environ:
        return
    skip = pytest.mark.skip(reason="runs no tessera command; the plain run covers it")
    for item in items:
        if "tessera_bin" not in item.fixturenames:
            item.add_marker(skip)
