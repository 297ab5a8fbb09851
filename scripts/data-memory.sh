#!/usr/bin/env bash
# Issue 11's memory target: resident memory of the folder input pipeline is flat (± 5%) between a 10,000- and a
# 100,000-image folder. Generates two folders of tiny JPEGs (64×48, 10 classes) under $1 (default /tmp/archdsl-mem),
# then runs one full pass over each through `archc data bench` (decode + random_resized_crop + batch, prefetch queue)
# under /usr/bin/time and prints the peak resident set of each. Not part of the test suite: generating 110,000 files
# and decoding them takes minutes on a shared 2-core machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-/tmp/archdsl-mem}"
mkdir -p "$dir"
for n in 10000 100000; do
  [ -d "$dir/f$n/train" ] || /usr/bin/python3 - "$dir/f$n" "$n" <<'PY'
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
done
spec="$root/specs/imagenet/vit-ti16.arch"
for n in 10000 100000; do
  batches=$(( n / 256 ))
  /usr/bin/time -f "$n images: peak RSS %M KiB, %e s" "$root/archc" data bench "$spec" --set "train.data=\"folder:$dir/f$n\"" --set classes=10 \
    --set size=32 --batch 256 --batches "$batches" --no-torchvision --workers "${WORKERS:-2}" | tail -n 2
done
