#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and rebuilds the bundled
# astronaut photograph from patches of the other bundled images. Output goes to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
mkdir -p out
sources=(data/coffee.png data/chelsea.png data/rocket.jpg data/hubble_deep_field.jpg
         data/retina.jpg data/brick.png data/grass.png data/gravel.png data/coins.png)
build/tessera build -o out/library.tsr --mode rgb --tile 8 --stride 8 \
  --rotations 0,90,180,270 --flips "${sources[@]}"
build/tessera info out/library.tsr
build/tessera mosaic out/library.tsr data/astronaut.png -o out/astronaut-mosaic.png \
  --matches out/astronaut-matches.csv
echo
echo "Done. The mosaic is out/astronaut-mosaic.png (target: data/astronaut.png);"
echo "per-tile matches in out/astronaut-matches.csv, the library in out/library.tsr."
