#!/usr/bin/env bash
# A self-contained archc for linux-x64 machines without .NET (a GPU host): `dotnet publish` of Cli/ with the settings
# in Cli/ArchDsl.Cli.csproj (trimmed in partial mode, single file, compressed), into build/publish/:
#   build/publish/archc                                  the program (the .NET runtime inside)
#   build/publish/Model/reference/bench_pytorch.py       the PyTorch companion of `archc bench`
# It finds the native shim through $ARCHDSL_NATIVE (the .so or its folder), else build/native/ above its own folder,
# so build/publish/archc in a checkout uses that checkout's build/native/libarchdsl_torch.so.
# Rebuilt only when a source is newer than the last publish; the new folder replaces the old one only when complete.
# Intermediate files go to build/publish-artifacts/, apart from the ordinary build's obj/ and bin/.
#   scripts/publish.sh [OUT_DIR]          (default build/publish; prints the folder and its size)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(realpath -m "${1:-$root/build/publish}")"
stamp="$out/.stamp"
newer() {
  find "$root/Dsl" "$root/Compiler" "$root/Runtime/Engine" "$root/Runtime/Torch" "$root/Presentation" "$root/Cli" "$root/Directory.Build.props" \
    \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.py' \) -newer "$stamp" \
    -not -path '*/obj/*' -not -path '*/bin/*' 2>/dev/null | head -n 1
}
if [ ! -f "$stamp" ] || [ -n "$(newer)" ]; then
  echo "publish: dotnet publish -r linux-x64 (self-contained, trimmed, single file) into $out" >&2
  mkdir -p "$root/build"
  tmp="$out.tmp"
  rm -rf "$tmp"
  if ! dotnet publish "$root/Cli/ArchDsl.Cli.csproj" -c Release -r linux-x64 -p:DebugType=none \
      --artifacts-path "$root/build/publish-artifacts" -o "$tmp" -nologo -v q -clp:ErrorsOnly >"$root/build/publish.log" 2>&1; then
    echo "publish: dotnet publish failed, see build/publish.log" >&2
    tail -n 30 "$root/build/publish.log" >&2
    exit 1
  fi
  touch "$tmp/.stamp"
  rm -rf "$out.old"
  [ -d "$out" ] && mv "$out" "$out.old"
  mv "$tmp" "$out"
  rm -rf "$out.old"
fi
echo "$out: $(du -sb "$out" | cut -f1) bytes (archc $(stat -c %s "$out/archc") bytes)"
