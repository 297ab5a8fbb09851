#!/usr/bin/env bash
# Issue 11's memory target: resident memory of the folder input pipeline is flat (± 5%) between a 10,000- and a
# 100,000-image folder. Generates two folders of tiny JPEGs (64×48, 10 classes) under $1 (default /tmp/archdsl-mem),
# then runs the same number of batches over each — one full pass of the 100,000 images, ten passes of the 10,000 — (RUNS
# times, default 3) through `archc data bench` (listing, decode + random_resized_crop + normalise, batches through the
# prefetch queue) under /usr/bin/time and prints the peak resident set of each run, their medians and the medians'
# difference. The work is held equal so that only the folder's size differs: the .NET GC's gen0 budget fills with the
# number of images decoded, whatever the folder (the 10,000-image folder peaked at 257,532 KiB after 39 batches and
# 274,968 KiB after 390, 2026-11-30), so unequal passes would measure the pass's length, not the folder's size. Not part of the test suite: generating 110,000 files and decoding them takes minutes on a shared
# 2-core machine. ARCHC overrides the CLI (default: ./archc of this tree); WORKERS the decoding threads (default 2).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/archdsl-mem}"
archc=(${ARCHC:-"$root/archc"})
mkdir -p "$dir"
for n in 10000 100000; do
  # Written under a temporary name and renamed when complete, so an interrupted run is not taken for a whole folder.
  [ -d "$dir/f$n/train" ] && continue
  rm -rf "$dir/f$n.partial"
  /usr/bin/python3 - "$dir/f$n.partial" "$n" <<'PY'
import os, sys
import numpy as np
from PIL import Image
root, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(n)
for i in range(n):
    d = f"{root}/train/c{i % 10}"
    os.makedirs(d, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(f"{d}/{i:06d}.jpg", quality=90)
PY
  mv "$dir/f$n.partial" "$dir/f$n"
done
"${archc[@]}" --help >/dev/null # builds the CLI first if needed, outside the measurement
spec="$root/specs/imagenet/vit-ti16.arch"
# RUNS passes per folder (default 3), alternating the folders, and the median peak of each: one pass's peak varies by
# several MB from run to run (when the .NET GC's gen0 collections fall differently; README, 'Resident memory').
runs=${RUNS:-3}
declare -A peaks
for r in $(seq "$runs"); do
  for n in 10000 100000; do
    count=$(find "$dir/f$n/train" -name '*.jpg' | wc -l)
    [ "$count" = "$n" ] || { echo "data-memory: $dir/f$n holds $count images, expected $n; delete it to regenerate" >&2; exit 1; }
    batches=$(( 100000 / 256 )) # with the bench's warm-up batch: one full pass of the larger folder, ten of the smaller
    log="$dir/time-$n.txt"
    /usr/bin/time -f "%M %e" -o "$log" "${archc[@]}" data bench "$spec" --set "train.data=\"folder:$dir/f$n\"" --set classes=10 \
      --set size=32 --batch 256 --batches "$batches" --no-torchvision --workers "${WORKERS:-2}" | grep "archdsl ("
    read -r kib seconds < "$log"
    peaks[$n]="${peaks[$n]:-} $kib"
    echo "$n images, run $r ($batches batches of 256): peak RSS $kib KiB, $seconds s"
  done
done
/usr/bin/python3 - ${peaks[10000]} -- ${peaks[100000]} <<'PY'
import statistics, sys
args = sys.argv[1:]
a, b = [int(x) for x in args[:args.index("--")]], [int(x) for x in args[args.index("--") + 1:]]
ma, mb = statistics.median(a), statistics.median(b)
d = 100 * (mb - ma) / ma
print(f"peak RSS, KiB: 10,000 images {a} (median {ma:,.0f}), 100,000 images {b} (median {mb:,.0f})")
print(f"100,000 vs 10,000 images: {d:+.1f}% median peak RSS ({'within' if abs(d) <= 5 else 'outside'} the ±5% target)")
PY
