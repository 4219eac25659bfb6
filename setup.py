"""pip's entry point: the extension is built by the project's CMake (one build system for the CLI,
the C++ tests and this module); setuptools only copies the result into the wheel."""

import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
# The one version number, project(tessera VERSION ...) in CMakeLists.txt.
VERSION = re.search(r"project\(tessera VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())[1]


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        build_dir = pathlib.Path(self.build_temp).resolve() / "cmake"
        subprocess.run(
            ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
             "-DTESSERA_BUILD_PYTHON=ON", "-DTESSERA_BUILD_CLI=OFF", "-DTESSERA_BUILD_TESTS=OFF",
             f"-DPython3_EXECUTABLE={sys.executable}"],
            check=True,
        )
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_tessera", "-j", jobs],
                       check=True)
        built = next((build_dir / "python" / "tessera").glob("_tessera*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, target)


setup(
    version=VERSION,
    ext_modules=[Extension("tessera._tessera", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # Keep setuptools' own build tree apart from the CMake tree of scripts/build.sh.
    options={"build": {"build_base": "build/pip"}},
)
