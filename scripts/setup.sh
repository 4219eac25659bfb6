#!/usr/bin/env bash
# Installs what tessera needs from Debian 12's packages. Safe to run again: it installs only
# what is missing. Uses sudo when not run as root.
set -euo pipefail

packages=(
  cmake g++ pkg-config make
  libvips-dev libcli11-dev nlohmann-json3-dev libxxhash-dev liblemon-dev
  libgtest-dev libbenchmark-dev libsimde-dev
  python3 python3-dev python3-venv python3-setuptools python3-wheel pybind11-dev python3-numpy python3-pil python3-pytest
  python3-sklearn python3-tqdm python3-scipy python3-faiss python3-hnswlib python3-matplotlib libopenblas0-pthread
  python3-dask python3-distributed python3-skimage
  clang libclang-rt-14-dev libomp-14-dev
  help2man man-db bash-completion dpkg-dev file time metapixel
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "tessera setup: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
