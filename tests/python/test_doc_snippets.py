"""Every Python snippet in README.md and docs/python.md runs as written, in a directory holding
the files they name (train/, extra.png, target.png, lib.tsr)."""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SNIPPETS = [
    (doc, i, code)
    for doc in ("README.md", "docs/python.md")
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", (ROOT / doc).read_text(), re.S))
]


@pytest.fixture
def workdir(tmp_path, data_dir, monkeypatch):
    (tmp_path / "train").mkdir()
    for name in ("brick.png", "gravel.png"):
        shutil.copy(data_dir / name, tmp_path / "train" / name)
    shutil.copy(data_dir / "coins.png", tmp_path / "extra.png")
    shutil.copy(data_dir / "astronaut.png", tmp_path / "target.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_there_are_snippets():
    assert {doc for doc, _, _ in SNIPPETS} == {"README.md", "docs/python.md"}


@pytest.mark.parametrize("doc,index,code", SNIPPETS, ids=[f"{d}[{i}]" for d, i, _ in SNIPPETS])
def test_snippet_runs(workdir, doc, index, code):
    """Run as a script, as a user would paste it (multiprocessing needs a real __main__); a
    snippet continuing an earlier one in its document (the multiprocessing example uses the first
    one's names) runs after the snippets before it."""
    earlier = [c for d, i, c in SNIPPETS if d == doc and i < index]
    script = workdir / "snippet.py"
    script.write_text("\n".join(earlier + [code]))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, f"{doc} snippet {index}:\n{proc.stderr}"
