#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every C++ and Python test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
(cd build && ctest --output-on-failure -j "$(nproc)")
# The C++ suite again at every other SIMD level this CPU supports, forced as users force it.
default_level=$(build/tessera --version | sed -n 's/.*simd: \([a-z0-9]*\).*/\1/p')
for level in scalar avx2 avx512 amx; do
  if [ "$level" != "$default_level" ] &&
     TESSERA_SIMD=$level build/tessera --version >/dev/null 2>&1; then  # exit 1: unsupported
    echo "tessera tests: C++ suite with TESSERA_SIMD=$level"
    (cd build && TESSERA_SIMD=$level ctest --output-on-failure -j "$(nproc)")
  fi
done
# Debian's python3, where the packages from setup.sh live (not a pyenv or venv one on PATH).
PYTHONPATH="$PWD/build/python${PYTHONPATH:+:$PYTHONPATH}" TESSERA_BIN="$PWD/build/tessera" \
  /usr/bin/python3 -m pytest -q tests/python
# Sanitizer build (ASan + UBSan) of the same tests, then a short fixed-time fuzzing run.
scripts/sanitize.sh
