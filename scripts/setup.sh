#!/usr/bin/env bash
# ArchDsl set-up: everything a fresh Debian 12 machine with the .NET SDK needs, idempotent and quiet
# when there is nothing to do. Called by ./archc on every start (cheap when up to date), by the test
# command and by .ci/run.
#   1. Debian packages: libtorch (CPU), OpenBLAS (without it linear layers are 12-15x slower),
#      Graphviz (the DOT output is checked with `dot` in the tests),
#      Fashion-MNIST, PyTorch on the same libtorch (the tests' and benchmarks' reference) and the ONNX
#      checker (python3-onnx; the ONNX export tests run it), torchvision (the data transforms' reference and
#      archc data bench's companion),
#      a font (fonts-dejavu-core) for the report charts (ScottPlot), libjpeg-turbo (libjpeg62-turbo-dev: the image-folder
#      loader's JPEG crop decode in the native shim).
#   2. The native shim (Runtime/native) against that libtorch, into build/native/.
#   3. The archc CLI into build/cli/, rebuilt only when a source file is newer than the last build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quiet=${ARCHDSL_SETUP_QUIET:-0}
say() { [ "$quiet" = 1 ] || echo "setup: $*" >&2; }

packages=(libtorch-dev libopenblas0-pthread dataset-fashion-mnist python3-torch python3-torchvision python3-onnx cmake g++ graphviz libgloo-dev fonts-dejavu-core libjpeg62-turbo-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]} (one time)" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"; } >"${TMPDIR:-/tmp}/archdsl-apt.log" 2>&1; then
    echo "setup: apt-get install failed (log: ${TMPDIR:-/tmp}/archdsl-apt.log); install these by hand: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

mkdir -p "$root/build"

# Native shim: cmake rebuilds only what changed. The stamp, not the library, marks the last successful build:
# a change that needs no relink (a CMakeLists.txt comment) leaves the library's time as it was.
native_stamp="$root/build/native/.stamp"
if [ ! -f "$root/build/native/libarchdsl_torch.so" ] || [ ! -f "$native_stamp" ] || [ -n "$(find "$root/Runtime/native" -newer "$native_stamp" -type f 2>/dev/null | head -n 1)" ]; then
  echo "setup: building the native libtorch shim (one time, a few minutes)" >&2
  bash "$root/Runtime/native/build.sh" >"$root/build/native-build.log" 2>&1 || { echo "setup: native build failed, see build/native-build.log" >&2; tail -n 30 "$root/build/native-build.log" >&2; exit 1; }
  touch "$native_stamp"
fi

# The CLI.
stamp="$root/build/cli/.stamp"
if [ ! -f "$stamp" ] || [ -n "$(find "$root/Dsl" "$root/Compiler" "$root/Runtime" "$root/Presentation" "$root/Cli" "$root/Directory.Build.props" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' \) -newer "$stamp" -not -path '*/obj/*' -not -path '*/bin/*' 2>/dev/null | head -n 1)" ]; then
  say "building archc"
  mkdir -p "$root/build/cli"
  if ! dotnet build "$root/Cli/ArchDsl.Cli.csproj" -c Release -o "$root/build/cli" -nologo -v q -clp:ErrorsOnly >"$root/build/cli-build.log" 2>&1; then
    echo "setup: building archc failed, see build/cli-build.log" >&2; tail -n 30 "$root/build/cli-build.log" >&2; exit 1
  fi
  touch "$stamp"
fi
