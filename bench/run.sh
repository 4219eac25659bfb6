#!/usr/bin/env bash
# The side-by-side benchmark in one command: builds tessera (incrementally) unless --tessera or
# TESSERA_BIN names a binary, then runs bench/compare.py with Debian's python3, where numpy,
# scikit-learn, FAISS, hnswlib and matplotlib live (scripts/setup.sh installs them). The photo-*
# workloads fetch their photographs into ~/.cache/tessera-bench on first use (bench/photos.py).
# Examples: bench/run.sh                      all five workloads, report in bench/results/
#           bench/run.sh --smoke --out /tmp/smoke/results.md
#           bench/run.sh --workloads 1,3 --skip loop --budget 60
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TESSERA_BIN:-}" ] && [[ " $* " != *" --tessera"* ]]; then
  scripts/build.sh >/dev/null
fi
exec /usr/bin/python3 bench/compare.py "$@"
