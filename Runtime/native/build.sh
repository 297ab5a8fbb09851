#!/usr/bin/env bash
# Builds the libtorch shim into <repo>/build/native/libarchdsl_torch.so. Idempotent: re-running
# only rebuilds what changed.
#   Runtime/native/build.sh                       # Debian libtorch-dev (CPU)
#   Runtime/native/build.sh /path/to/torch/cmake   # another libtorch, e.g. a CUDA PyTorch install:
#   Runtime/native/build.sh "$(python -c 'import torch;print(torch.utils.cmake_prefix_path)')"
# Environment: ARCHDSL_BUILD_JOBS (default 2), CMAKE_BUILD_TYPE (default Release).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/build/native"
work="$out/cmake"
prefix="${1:-${CMAKE_PREFIX_PATH:-}}"
jobs="${ARCHDSL_BUILD_JOBS:-2}"

args=(-S "$here" -B "$work" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}"
      -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$out")
if [[ -n "$prefix" ]]; then args+=(-DCMAKE_PREFIX_PATH="$prefix"); fi
if command -v ninja >/dev/null 2>&1 && [[ ! -f "$work/CMakeCache.txt" || -f "$work/build.ninja" ]]; then
  args+=(-G Ninja)
fi
# Re-configure only when there is no cache yet or the prefix changed.
stamp="$work/.archdsl-prefix"
if [[ ! -f "$work/CMakeCache.txt" || "$(cat "$stamp" 2>/dev/null)" != "$prefix" ]]; then
  cmake "${args[@]}"
  echo "$prefix" > "$stamp"
fi
cmake --build "$work" -j "$jobs"
echo "built: $out/libarchdsl_torch.so"
