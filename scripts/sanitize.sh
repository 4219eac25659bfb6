#!/usr/bin/env bash
# The sanitizer job: builds everything in build-asan with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (and the libFuzzer targets), runs the C++ tests and the CLI tests
# against the sanitized tessera, then runs each fuzz target for a short fixed time. Any
# sanitizer finding exits with status 86 and fails the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=clang++ cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTESSERA_FUZZ=ON -DTESSERA_BUILD_PYTHON=OFF \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build build-asan -j "$(nproc)"
export ASAN_OPTIONS=exitcode=86:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j "$(nproc)")
# The Python module comes from the ordinary build (a sanitized one would need libasan preloaded
# into Python); the tessera command the CLI tests run is the sanitized one.
PYTHONPATH="$PWD/build/python${PYTHONPATH:+:$PYTHONPATH}" TESSERA_BIN="$PWD/build-asan/tessera" \
  TESSERA_SANITIZED=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python
scripts/fuzz.sh build-asan
