#!/usr/bin/env bash
# Builds tessera's Debian packages with CPack (packaging/CMakeLists.txt says what each holds):
#   tessera_VERSION_ARCH.deb      the command, manual pages, bash completion, Python module
#   tessera-dev_VERSION_ARCH.deb  headers, static libraries, CMake package, pkg-config file
# Usage: scripts/package.sh [BUILD_DIR [OUTPUT_DIR]]  (defaults: build, BUILD_DIR/package)
# Then: sudo apt install ./build/package/tessera*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
output=${2:-$build/package}
if [ ! -f "$build/CMakeCache.txt" ]; then
  [ "$build" = build ] || { echo "package.sh: $build is not a configured build" >&2; exit 1; }
  scripts/setup.sh
  scripts/build.sh
fi
cmake --build "$build" -j "$(nproc)"
cpack --config "$build/CPackConfig.cmake" -B "$output" >/dev/null
rm -rf "$output/_CPack_Packages"
ls "$output"/*.deb
