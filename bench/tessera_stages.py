"""tessera mosaic's stages and its search's share of the int8 peak, for bench/compare.py.

The stages come from `tessera mosaic --timings FILE.json` when the binary has that option, and are
estimated from outside the process otherwise (see stages_outside).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

# Peak int8 multiply-adds per cycle and core of the instructions each `tessera --version` SIMD
# level can use: AMX tdpbusd 16x16x64 MACs per 16 cycles; AVX-512 VNNI vpdpbusd 64 MACs, two per
# cycle; AVX2 vpmaddubsw 32 MACs, two per cycle (an exact kernel needs more instructions per MAC
# than that, so the AVX2 peak is optimistic). At --ghz 3.8 the first two are the ~3,840 and ~485
# GMAC/s per core measured on Sapphire Rapids.
MACS_PER_CYCLE = {"amx": 1024, "avx512": 128, "avx2": 64}

INSIDE_STAGES = ("open", "verify", "decode", "search", "render", "encode")
# Prints the first decode (which starts libvips, as the CLI's does) and a second, warm one.
DECODE_SCRIPT = """import sys, time
from tessera import _tessera
for _ in range(2):
    start = time.perf_counter()
    _tessera.load_image(sys.argv[1], sys.argv[2], 1 << 62)
    print(time.perf_counter() - start)
"""


def stages_inside(timings, whole):
    """Per-stage seconds that `tessera mosaic --timings FILE.json` measured inside the process."""
    names = [n for n in INSIDE_STAGES if n in timings] + [n for n in timings if n not in INSIDE_STAGES]
    stages = [{"stage": name, "seconds": float(timings[name]), "how": "tessera mosaic --timings"}
              for name in names]
    rest = whole - sum(s["seconds"] for s in stages)
    stages.append({"stage": "process start, matches CSV, exit", "seconds": rest,
                   "how": "whole process minus the stages above"})
    return stages


def best_seconds(run, cmd, repeats):
    """Best of `repeats` runs of `cmd` through `run` (which stops the benchmark on a failure)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(cmd)
        best = min(best, time.perf_counter() - start)
    return best


def decode_seconds(args, env, target_file, mode):
    """tessera's own decode (libvips, as the CLI calls it) timed inside Python: (starting libvips,
    decoding), each best of --repeats; None when no tessera Python module sits beside the binary
    or on PYTHONPATH."""
    env = dict(env)
    beside = Path(args.tessera).resolve().parent / "python"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(beside), env.get("PYTHONPATH", "")) if p)
    runs = []
    for _ in range(args.repeats):
        result = subprocess.run([sys.executable, "-c", DECODE_SCRIPT, target_file, mode],
                                capture_output=True, text=True, env=env)
        if result.returncode != 0:
            return None
        first, warm = map(float, result.stdout.split())
        runs.append((first - warm, warm))
    return min(r[0] for r in runs), min(r[1] for r in runs)


def stages_outside(args, run, env, library, target_file, mode, tile, source_file, whole):
    """Stages estimated from outside the process, until tessera reports its own: process start
    (`tessera --version`), open (`tessera info`), verify (`info --verify`), decode (Python
    load_image), render + encode + matches (a mosaic against a one-patch library), and search as
    what is left of the whole mosaic. Each best of --repeats. `run` runs a command or stops the
    benchmark; `env` is tessera's environment."""
    folder = Path(library).parent
    tiny_source = folder / "one-patch.png"
    with Image.open(source_file) as im:
        im.crop((0, 0, tile, tile)).save(tiny_source)
    tiny = folder / "one-patch.tsr"
    run([args.tessera, "build", str(tiny_source), "-o", str(tiny), "--mode", mode, "--tile", str(tile),
         "-q"])
    one_cmd = [args.tessera, "mosaic", str(tiny), target_file, "-o", str(folder / "one-patch-mosaic.png"),
               "--matches", str(folder / "one-patch-matches.csv"), "-q"]
    if args.threads:
        one_cmd += ["--threads", str(args.threads)]
    start = best_seconds(run, [args.tessera, "--version"], args.repeats)
    opened = best_seconds(run, [args.tessera, "info", library], args.repeats)
    verified = best_seconds(run, [args.tessera, "info", "--verify", library], args.repeats)
    one_patch = best_seconds(run, one_cmd, args.repeats)
    decode = decode_seconds(args, env, target_file, mode)
    stages = [
        {"stage": "process start and exit", "seconds": start, "how": "tessera --version"},
        {"stage": "open", "seconds": opened - start, "how": "tessera info, less process start"},
        {"stage": "verify", "seconds": verified - opened, "how": "tessera info --verify, less tessera info"},
    ]
    rest = one_patch - start
    if decode is not None:
        stages += [{"stage": "libvips start", "seconds": decode[0],
                    "how": "tessera's load_image in Python: first call less a warm one"},
                   {"stage": "decode", "seconds": decode[1],
                    "how": "tessera's load_image in Python, warm"}]
        rest -= sum(decode)
    stages.append({"stage": "render, encode, matches" + ("" if decode is not None else ", decode"),
                   "seconds": rest, "how": "mosaic with a one-patch library, less process start, "
                                           "libvips start and decode"})
    stages.append({"stage": "search (estimated)", "seconds": whole - one_patch - (verified - start),
                   "how": "whole mosaic, less the one-patch mosaic, open and verify"})
    return stages


def search_rate(tiles, patches, dimension, seconds, args):
    """The search as effective int8 multiply-adds per second: a brute-force pass's MACs (tiles x
    patches x D) over the search's seconds, per core, and its share of the level's peak."""
    threads = args.threads or os.cpu_count()
    macs = tiles * patches * dimension
    per_cycle = MACS_PER_CYCLE.get(args.simd_level)
    out = {"brute_force_macs": macs, "threads": threads, "level": args.simd_level, "ghz": args.ghz,
           "peak_gmacs_per_core": per_cycle * args.ghz if per_cycle else None,
           "gmacs": None, "gmacs_per_core": None, "share": None}
    if seconds > 0:
        out["gmacs"] = macs / seconds / 1e9
        out["gmacs_per_core"] = out["gmacs"] / threads
        if per_cycle:
            out["share"] = out["gmacs_per_core"] / out["peak_gmacs_per_core"]
    return out

def rate_text(rate):
    if rate["gmacs"] is None:
        return "no search time left to rate"
    text = (f"{rate['brute_force_macs'] / 1e12:.2f} T brute-force MACs, {rate['gmacs']:,.0f} effective "
            f"GMAC/s ({rate['gmacs_per_core']:,.0f} per core, {rate['threads']} threads)")
    if rate["share"] is None:
        return text + f"; no int8 peak known for SIMD level {rate['level']}"
    return text + (f" = {rate['share']:.0%} of the {rate['level']} peak of "
                   f"{rate['peak_gmacs_per_core']:,.0f} GMAC/s per core")
