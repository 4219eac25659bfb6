#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every C++ and Python test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j "$(nproc)")
# Debian's python3, where the packages from setup.sh live (not a pyenv or venv one on PATH).
PYTHONPATH="$PWD/build/python${PYTHONPATH:+:$PYTHONPATH}" TESSERA_BIN="$PWD/build/tessera" \
  /usr/bin/python3 -m pytest -q tests/python
# Sanitizer build (ASan + UBSan) of the same tests, then a short fixed-time fuzzing run.
scripts/sanitize.sh
