"""scripts/check_layers.py, the include rule CTest applies to the checkout, on small made-up trees:
it must fail on each kind of violation, not only pass on a clean tree."""

import pathlib
import subprocess
import sys

CHECKER = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "check_layers.py"


def run(root: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECKER), str(root)], capture_output=True, text=True)


def tree(tmp_path: pathlib.Path, files: dict) -> pathlib.Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_includes_pointing_down_pass(tmp_path):
    root = tree(tmp_path, {
        "include/tessera/core/error.hpp": "#pragma once\n",
        "src/search/exact.cpp": '#include "tessera/core/error.hpp"\n#include "search/index.hpp"\n',
        "src/search/index.hpp": '#include "tessera/library/library.hpp"\n',
        "python/ext/module.cpp": '#include "tessera/pipeline/job.hpp"\n#include "arrays.hpp"\n',
        "python/ext/arrays.hpp": "#pragma once\n",
    })
    result = run(root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_lower_layer_including_a_higher_one_fails(tmp_path):
    root = tree(tmp_path, {"src/library/builder.cpp": '#include "tessera/search/search.hpp"\n'})
    result = run(root)
    assert result.returncode == 1
    assert "src/library/builder.cpp:1: the library layer includes tessera/search/search.hpp" \
        in result.stdout


def test_a_public_header_including_a_higher_one_fails(tmp_path):
    root = tree(tmp_path, {"include/tessera/core/image.hpp": '#include "tessera/io/decode.hpp"\n'})
    assert run(root).returncode == 1


def test_another_layers_private_header_fails(tmp_path):
    root = tree(tmp_path, {"src/mosaic/match.cpp": '#include "search/kernels/kernels.hpp"\n'})
    result = run(root)
    assert result.returncode == 1
    assert "private header of the search layer" in result.stdout


def test_an_include_outside_every_layer_fails(tmp_path):
    root = tree(tmp_path, {"src/core/file.cpp": '#include "tessera/misc/thing.hpp"\n'})
    assert run(root).returncode == 1
