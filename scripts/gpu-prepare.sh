#!/usr/bin/env bash
# Prepares what a GPU host without .NET needs beside the working tree, and checks the size that travels there:
#   build/publish/                 the self-contained archc (scripts/publish.sh)
#   build/gpu-data/fashion-mnist/  the four Fashion-MNIST IDX files (.gz, 30.9 MB, Debian's dataset-fashion-mnist),
#                                  for gpu-check's training step
# Both are ignored by git, so a caller carries them explicitly (the device tool's `carry`). The tree that travels
# (tracked and untracked-not-ignored files, plus the carried folders) must stay under ARCHDSL_TREE_LIMIT bytes
# (default 64 MiB); this exits 1 when it does not.
#   scripts/gpu-prepare.sh [--no-data]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
limit="${ARCHDSL_TREE_LIMIT:-$((64 << 20))}"
bash scripts/publish.sh >&2
carry=(build/publish)
if [ "${1:-}" != "--no-data" ]; then
  src=/usr/share/datasets/fashion-mnist
  if [ -f "$src/train-images-idx3-ubyte.gz" ]; then
    mkdir -p build/gpu-data/fashion-mnist
    cp -u "$src"/*-ubyte.gz build/gpu-data/fashion-mnist/
    carry+=(build/gpu-data)
  else
    echo "gpu-prepare: no Fashion-MNIST at $src: gpu-check will train on synthetic data" >&2
  fi
fi
tree=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -n 1 | cut -f1)
carried=$(du -cb "${carry[@]}" | tail -n 1 | cut -f1)
total=$((tree + carried))
echo "tree $tree + carried $carried (${carry[*]}) = $total bytes of $limit"
echo "carry: ${carry[*]}"
[ "$total" -le "$limit" ] || { echo "gpu-prepare: $total bytes would travel, over the $limit limit" >&2; exit 1; }
