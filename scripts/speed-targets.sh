#!/usr/bin/env bash
# Issue 12's CPU speed targets, measured as the issue states them: `archc bench` runs ArchDsl's and PyTorch eager's
# training steps side by side in one run (same libtorch, batch 128, the two sides alternating), for each default spec
# in fp32 (like for like: the same BLAS kernel and thread-pool settings on both sides), in fp32 against PyTorch as a
# user runs it (`--pytorch-env user`), and in bf16 (`--amp bf16`, PyTorch under torch.autocast). Prints each run's
# step times and a table of the targets with the median over the rounds.
#
#   bash scripts/speed-targets.sh [ROUNDS] [ITERATIONS]     # defaults: 1 round of 8 timed steps (2 warm-up)
#
# Figures are only meaningful on a quiet machine: the script prints `uptime`'s load before and after each round.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1}
iterations=${2:-8}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# name|spec|extra options
runs=(
  "convmixer-fp32|specs/convmixer.arch|"
  "mlp-mixer-fp32|specs/mlp-mixer.arch|"
  "vit-fp32|specs/vit.arch|"
  "mlp-mixer-user|specs/mlp-mixer.arch|--pytorch-env user"
  "vit-user|specs/vit.arch|--pytorch-env user"
  "convmixer-bf16|specs/convmixer.arch|--amp bf16"
  "mlp-mixer-bf16|specs/mlp-mixer.arch|--amp bf16"
  "vit-bf16|specs/vit.arch|--amp bf16"
)

for ((r = 1; r <= rounds; r++)); do
  echo "== round $r/$rounds, $(date +%H:%M:%S), load: $(cut -d' ' -f1-3 /proc/loadavg)"
  for run in "${runs[@]}"; do
    IFS='|' read -r name spec extra <<<"$run"
    # shellcheck disable=SC2086
    ./archc bench "$spec" --batch 128 --warmup 2 --iterations "$iterations" $extra >"$out/$name.$r.txt" 2>&1 ||
      { echo "archc bench $spec $extra failed:"; cat "$out/$name.$r.txt"; exit 1; }
    step=$(awk '/train step \(ms, median\)/ {print $5, $6}' "$out/$name.$r.txt")
    [[ -n $step ]] || { echo "no train step line in the bench output of $name:"; cat "$out/$name.$r.txt"; exit 1; }
    echo "$name $step" | tee -a "$out/steps"
  done
  echo "   load after round $r: $(cut -d' ' -f1-3 /proc/loadavg)"
done

/usr/bin/env python3 - "$out/steps" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, archdsl, pytorch = line.split()
    # PyTorch's side is "-" where its run failed (PyTorch 1.13's CPU autocast cannot run the MLP-Mixer).
    runs.setdefault(name, []).append((float(archdsl), float("nan") if pytorch == "-" else float(pytorch)))

def med(name, f):
    return statistics.median(f(a, p) for a, p in runs[name])

def row(target, value, goal, met, detail):
    print(f"| {target} | {value} | {goal} | {'yes' if met else 'no'} | {detail} |")

print("\n| target | median | goal | met | ArchDsl / PyTorch step (ms), each round |")
print("|---|---|---|---|---|")
each = lambda n: "; ".join(f"{a:,.1f} / {p:,.1f}" for a, p in runs[n])
for spec, goal in [("convmixer", 0.5), ("mlp-mixer", 0.75), ("vit", 0.9)]:
    v = med(f"{spec}-fp32", lambda a, p: a / p)
    row(f"{spec} fp32, like for like", f"{v:.3f}", f"≤ {goal}", v <= goal, each(f"{spec}-fp32"))
for spec in ["mlp-mixer", "vit"]:
    v = med(f"{spec}-user", lambda a, p: p / a)
    row(f"{spec} fp32 vs PyTorch as a user runs it", f"{v:.2f}× faster", "≥ 2.5×", v >= 2.5, each(f"{spec}-user"))
for spec in ["convmixer", "vit"]:
    v = med(f"{spec}-bf16", lambda a, p: p / a)
    row(f"{spec} bf16 vs PyTorch bf16 autocast", f"{v:.2f}× faster", "≥ 1.2×", v >= 1.2, each(f"{spec}-bf16"))
for spec in ["convmixer", "mlp-mixer", "vit"]:
    bf16 = statistics.median(a for a, _ in runs[f"{spec}-bf16"])
    fp32 = statistics.median(a for a, _ in runs[f"{spec}-fp32"])
    row(f"{spec} bf16 step vs its fp32 step", f"{bf16 / fp32:.3f}", "≤ 1", bf16 <= fp32, f"{bf16:,.1f} / {fp32:,.1f} (ArchDsl medians)")
EOF
