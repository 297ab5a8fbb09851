#!/usr/bin/env bash
# gpu-check: the CUDA path end to end on a machine with PyTorch (no .NET needed), issue 17. Steps, each with its
# own timeout, all output under one folder:
#   build   the native shim against that PyTorch's libtorch (torch.utils.cmake_prefix_path)      [cuda only]
#   equiv   ArchDsl vs PyTorch on the same device, same weights and batch: logits, gradients, state, train and
#           eval mode, ConvMixer / ViT / MLP-Mixer (archc bench --check; TF32 off: NVIDIA_TF32_OVERRIDE=0)
#   bench   archc bench against PyTorch eager and torch.compile: ConvMixer-256/8 at 32x32 (batch 512), ViT-S/16 and
#           ConvMixer-768/32 at 224x224; fp32, and ConvMixer-256/8 and ViT-S/16 again with --amp bf16 on both sides
#   infer   inference images/s of ConvMixer-1536/20 (and ConvMixer-768/32, from bench) at 224x224
#   train   a short real training of the default ConvMixer (Fashion-MNIST, else synthetic) with amp: fp16 on cuda
#           (loss scaling), bf16 on the CPU
#   ddp     data-parallel: asks the shim whether it binds c10d (Runtime/native/src/c10d_bound.h); if so, a short
#           synthetic training with --nproc (NCCL on cuda, one worker per GPU, at most 2; Gloo with 2 on the CPU);
#           if its libtorch 2.x binding did not compile, the first errors of the compiler's log CMake kept
# With --device cpu every step runs with small sizes and short timeouts (the test suite runs it that way).
#
#   scripts/gpu-check.sh [--device cuda|cpu] [--out DIR] [--archc PATH] [--steps build,equiv,bench,infer,train,ddp]
#                        [--no-compile] [--data DIR]
#
# --out      default $OUT/gpu-check when $OUT is set, else runs/gpu-check-<time>. It receives gpu-check.log (all
#            output), summary.txt (the figures) and details.tar.gz (each step's log and the training run).
# --archc    default build/publish/archc (scripts/publish.sh), else ./archc (needs .NET).
# --data     a folder with the four Fashion-MNIST IDX files (.gz); default build/gpu-data/fashion-mnist if there,
#            else /usr/share/datasets/fashion-mnist if there, else synthetic data.
# Sizes and timeouts (seconds): environment variables, defaults per device below (GPU_CHECK_*).
# Exit status: 0 when every step passed, 1 when one failed or timed out (the others still run), 2 usage.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

device=cuda; out=""; archc=""; steps="build,equiv,bench,infer,train,ddp"; compile=1; data=""
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    --archc) archc="${2:?}"; shift 2 ;;
    --steps) steps="${2:?}"; shift 2 ;;
    --data) data="${2:?}"; shift 2 ;;
    --no-compile) compile=0; shift ;;
    -h|--help) usage ;;
    *) echo "gpu-check: unknown argument '$1'" >&2; usage ;;
  esac
done
case "$device" in cuda|cpu) ;; *) echo "gpu-check: --device must be cuda or cpu, not '$device'" >&2; exit 2 ;; esac
# Paths given are the caller's; the steps run in the repository root.
[ -n "$archc" ] && archc="$(realpath -m "$archc")"
[ -n "$out" ] && out="$(realpath -m "$out")"
[ -n "$data" ] && data="$(realpath -m "$data")"
cd "$root"

if [ -z "$archc" ]; then
  if [ -x build/publish/archc ]; then archc="$root/build/publish/archc"; else archc="$root/archc"; fi
fi
if [ ! -x "$archc" ]; then
  echo "gpu-check: no archc at $archc (make one with scripts/publish.sh, or give --archc)" >&2; exit 2
fi
if [ -z "$out" ]; then
  if [ -n "${OUT:-}" ]; then out="$OUT/gpu-check"; else out="$root/runs/gpu-check-$(date +%Y%m%d-%H%M%S)"; fi
fi
mkdir -p "$out/steps" || exit 2
out="$(cd "$out" && pwd)"
log="$out/gpu-check.log"; summary="$out/summary.txt"
: >"$log"; : >"$summary"
# The PyTorch to compare with: $ARCHDSL_PYTHON, else the first of python3, /usr/bin/python3 that has torch.
if [ -z "${ARCHDSL_PYTHON:-}" ]; then
  for p in python3 /usr/bin/python3; do
    if "$p" -c 'import torch' 2>/dev/null; then ARCHDSL_PYTHON="$p"; break; fi
  done
fi
export ARCHDSL_PYTHON="${ARCHDSL_PYTHON:-python3}"
export ARCHDSL_NATIVE="${ARCHDSL_NATIVE:-$root/build/native/libarchdsl_torch.so}"
export PYTHONUNBUFFERED=1

# ---- sizes and timeouts -------------------------------------------------------------------------------------------
# Each GPU_CHECK_* argument string is read as shell words (quotes allowed), e.g.
#   GPU_CHECK_VITS="--batch 128" GPU_CHECK_STEP_TIMEOUT=300 scripts/gpu-check.sh
if [ "$device" = cuda ]; then
  : "${GPU_CHECK_BUILD_TIMEOUT:=420}" "${GPU_CHECK_STEP_TIMEOUT:=240}" "${GPU_CHECK_TRAIN_TIMEOUT:=240}"
  : "${GPU_CHECK_BENCH:=--warmup 5 --iterations 20}" "${GPU_CHECK_EQUIV_BATCH:=16}"
  : "${GPU_CHECK_EQUIV_CONVMIXER:=}" "${GPU_CHECK_EQUIV_VIT:=}" "${GPU_CHECK_EQUIV_MLP_MIXER:=}"
  : "${GPU_CHECK_CM256:=--set dim=256 --set depth=8 --set kernel=5 --set patch=2 --set channels=3 --set size=32 --batch 512}"
  : "${GPU_CHECK_VITS:=--batch 256}" "${GPU_CHECK_CM768:=--batch 64}" "${GPU_CHECK_CM1536:=--batch 64}"
  : "${GPU_CHECK_TRAIN:=}" "${GPU_CHECK_DDP_TIMEOUT:=120}"
  : "${GPU_CHECK_DDP:=--set 'train.data=synthetic(train: 4096, test: 1024)' --epochs 1 --batch 256}"
else
  : "${GPU_CHECK_BUILD_TIMEOUT:=600}" "${GPU_CHECK_STEP_TIMEOUT:=120}" "${GPU_CHECK_TRAIN_TIMEOUT:=120}"
  : "${GPU_CHECK_BENCH:=--warmup 1 --iterations 1}" "${GPU_CHECK_EQUIV_BATCH:=4}"
  : "${GPU_CHECK_EQUIV_CONVMIXER:=--set dim=16 --set depth=1}" "${GPU_CHECK_EQUIV_VIT:=--set dim=24 --set depth=1 --set heads=2}"
  : "${GPU_CHECK_EQUIV_MLP_MIXER:=--set dim=32 --set depth=1}"
  : "${GPU_CHECK_CM256:=--set dim=32 --set depth=1 --set kernel=5 --set patch=2 --set channels=3 --set size=16 --batch 8}"
  : "${GPU_CHECK_VITS:=--set depth=1 --set size=32 --batch 2}" "${GPU_CHECK_CM768:=--set dim=32 --set depth=1 --set size=28 --batch 2}"
  : "${GPU_CHECK_CM1536:=--set dim=32 --set depth=1 --set size=28 --batch 2}"
  : "${GPU_CHECK_TRAIN:=--set dim=16 --set depth=1 --set 'train.data=synthetic(train: 512, test: 128)' --epochs 1 --batch 64}"
  : "${GPU_CHECK_DDP_TIMEOUT:=120}"
  : "${GPU_CHECK_DDP:=--set dim=16 --set depth=1 --set 'train.data=synthetic(train: 256, test: 64)' --epochs 1 --batch 32}"
fi

say() { echo "$*" | tee -a "$log" >&2; }
sum() { echo "$*" >>"$summary"; }
failed=0
# step NAME TIMEOUT COMMAND...: runs the command under its timeout, its output in steps/NAME.log and the main log.
# It fails on a non-zero exit, and also when its output has a line matching $fail_if (a PyTorch side that failed).
fail_if='^ *PyTorch run failed'
step() {
  local name="$1" limit="$2"; shift 2
  local t0=$SECONDS rc status=ok
  say "== $name (timeout ${limit}s): $*"
  timeout -k 10 "$limit" "$@" >"$out/steps/$name.log" 2>&1
  rc=$?
  cat "$out/steps/$name.log" >>"$log"
  if [ $rc = 124 ] || [ $rc = 137 ]; then status="TIMEOUT after ${limit}s"; failed=1
  elif [ $rc != 0 ]; then status="FAILED (exit $rc)"; failed=1
  elif grep -qE "$fail_if" "$out/steps/$name.log"; then status="FAILED (PyTorch side)"; failed=1; rc=1; fi
  say "== $name: $status in $((SECONDS - t0))s"
  printf '%-26s %-22s %5ss\n' "$name" "$status" "$((SECONDS - t0))" >>"$out/steps/status.txt"
  return $rc
}
want() { [[ ",$steps," == *",$1,"* ]]; }
# words STRING: the shell words of a GPU_CHECK_* string, one per line (quotes honoured).
words() { eval "printf '%s\n' $1"; }
# archc_step NAME TIMEOUT ARGS-STRING ARCHC-ARGS...: an archc run with the words of ARGS-STRING appended.
archc_step() {
  local name="$1" limit="$2" extra="$3"; shift 3
  local -a more=()
  mapfile -t more < <(words "$extra")
  step "$name" "$limit" "$archc" "$@" "${more[@]}"
}

say "gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ) device=$device archc=$archc out=$out"
sum "# gpu-check, $(date -u +%Y-%m-%dT%H:%M:%SZ), device $device"
sum "# command: scripts/gpu-check.sh --device $device --steps $steps$([ $compile = 0 ] && echo ' --no-compile')"
"$ARCHDSL_PYTHON" -c 'import torch, platform; c = torch.cuda.is_available(); print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0) if c else "(no GPU)")' 2>&1 |
  tee -a "$log" | sed 's/^/# /' >>"$summary"
if [ "$device" = cuda ]; then nvidia-smi 2>&1 | head -n 15 >>"$log"; fi
torch_major="$("$ARCHDSL_PYTHON" -c 'import torch; print(torch.__version__.split(".")[0])' 2>/dev/null || echo 0)"
if [ $compile = 1 ] && [ "$torch_major" -lt 2 ] 2>/dev/null; then
  compile=0; sum "# torch.compile: not in this PyTorch (major version $torch_major): the --compile runs are left out"
fi

# ---- build: the shim against the PyTorch beside it ------------------------------------------------------------------
if [ "$device" = cuda ] && want build; then
  prefix="$("$ARCHDSL_PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
  ARCHDSL_BUILD_JOBS="${ARCHDSL_BUILD_JOBS:-$(nproc)}" step build "$GPU_CHECK_BUILD_TIMEOUT" bash Runtime/native/build.sh "$prefix"
  grep -E "^-- archdsl_torch" "$out/steps/build.log" | sed 's/^/# build: /' >>"$summary"
elif [ ! -f "$ARCHDSL_NATIVE" ] && want build; then
  step build "$GPU_CHECK_BUILD_TIMEOUT" bash Runtime/native/build.sh
fi
if [ ! -f "$ARCHDSL_NATIVE" ]; then
  say "gpu-check: no shim at $ARCHDSL_NATIVE; the remaining steps cannot run"
  sum "shim: missing ($ARCHDSL_NATIVE): FAILED"
  failed=1; steps=""
fi

# ---- equiv ----------------------------------------------------------------------------------------------------------
if want equiv; then
  sum ""; sum "## (a) equivalence: archc bench SPEC --check --device $device --batch $GPU_CHECK_EQUIV_BATCH"
  for spec in convmixer vit mlp-mixer; do
    var="GPU_CHECK_EQUIV_$(echo "$spec" | tr 'a-z-' 'A-Z_')"
    NVIDIA_TF32_OVERRIDE=0 archc_step "equiv-$spec" "$GPU_CHECK_STEP_TIMEOUT" "${!var}" \
      bench "specs/$spec.arch" --check --device "$device" --batch "$GPU_CHECK_EQUIV_BATCH"
    cat "$out/steps/equiv-$spec.log" >>"$summary"
  done
fi

# ---- bench ----------------------------------------------------------------------------------------------------------
bench() {   # bench NAME SPEC ARGS-STRING: eager, then torch.compile unless --no-compile
  local name="$1" spec="$2" extra="$3"
  archc_step "bench-$name-eager" "$GPU_CHECK_STEP_TIMEOUT" "$extra $GPU_CHECK_BENCH" bench "$spec" --device "$device"
  sed 's/^/    /' "$out/steps/bench-$name-eager.log" >>"$summary"
  if [ $compile = 1 ]; then
    archc_step "bench-$name-compile" "$GPU_CHECK_STEP_TIMEOUT" "$extra $GPU_CHECK_BENCH" bench "$spec" --device "$device" --compile
    sed 's/^/    /' "$out/steps/bench-$name-compile.log" >>"$summary"
  fi
}
if want bench; then
  sum ""; sum "## (b) training step and inference vs PyTorch: archc bench SPEC --device $device $GPU_CHECK_BENCH [--compile]"
  sum "fp32, then bf16 (--amp bf16: ArchDsl's per-op autocast policy vs torch.autocast) for ConvMixer-256/8 and ViT-S/16."
  sum "### ConvMixer-256/8, 32x32 ($GPU_CHECK_CM256)"; bench convmixer-256-8 specs/convmixer.arch "$GPU_CHECK_CM256"
  sum "### ViT-S/16, 224x224 ($GPU_CHECK_VITS)"; bench vit-s16 specs/imagenet/vit-s16.arch "$GPU_CHECK_VITS"
  sum "### ConvMixer-256/8, 32x32, bf16"; bench convmixer-256-8-bf16 specs/convmixer.arch "$GPU_CHECK_CM256 --amp bf16"
  sum "### ViT-S/16, 224x224, bf16"; bench vit-s16-bf16 specs/imagenet/vit-s16.arch "$GPU_CHECK_VITS --amp bf16"
  sum "### ConvMixer-768/32, 224x224 ($GPU_CHECK_CM768)"; bench convmixer-768-32 specs/imagenet/convmixer-768-32.arch "$GPU_CHECK_CM768"
fi

# ---- infer ----------------------------------------------------------------------------------------------------------
if want infer; then
  sum ""; sum "## (c) inference images/s at 224x224 (the seeds' table: ConvMixer-1536/20 89, ConvMixer-768/32 203; hardware unstated)"
  archc_step infer-convmixer-1536-20 "$GPU_CHECK_STEP_TIMEOUT" "$GPU_CHECK_CM1536 $GPU_CHECK_BENCH" \
    bench specs/imagenet/convmixer-1536-20.arch --device "$device"
  for n in convmixer-1536-20:infer-convmixer-1536-20 convmixer-768-32:bench-convmixer-768-32-eager; do
    f="$out/steps/${n#*:}.log"
    line="$(grep -E '^  inference images/s' "$f" 2>/dev/null || echo "  inference images/s  (no figure: see ${n#*:}.log)")"
    sum "${n%%:*}: ${line#  }"
  done
fi

# ---- train ----------------------------------------------------------------------------------------------------------
if want train; then
  if [ -z "$data" ]; then
    for d in "$root/build/gpu-data/fashion-mnist" /usr/share/datasets/fashion-mnist; do
      [ -f "$d/train-images-idx3-ubyte.gz" ] && { data="$d"; break; }
    done
  fi
  train_data=""
  [ -n "$data" ] && [ "$device" = cuda ] && train_data="--set train.data=fashion-mnist --set 'train.path=\"$data\"'"
  amp=bf16; [ "$device" = cuda ] && amp=fp16
  sum ""; sum "## (d) training: archc train specs/convmixer.arch --device $device --amp $amp $train_data $GPU_CHECK_TRAIN"
  archc_step train "$GPU_CHECK_TRAIN_TIMEOUT" "$train_data $GPU_CHECK_TRAIN" \
    train specs/convmixer.arch --device "$device" --amp "$amp" --runs "$out/steps/runs" --checkpoint-every 0
  grep -E "^note:|^precision:|test accuracy" "$out/steps/train.log" >>"$summary"
  s="$(ls -d "$out"/steps/runs/*/summary.yaml 2>/dev/null | head -n 1)"
  if [ -n "$s" ]; then
    grep -E "^(data|epochs|steps|device|amp|blas|images_per_s):|^  train_s:" "$s" | sed 's/^/    summary.yaml: /' >>"$summary"
  fi
fi

# ---- ddp: data-parallel training where the shim binds c10d ---------------------------------------------------------
# c10d_state: what the shim itself reports — "bound nccl", "bound gloo" or "unbound <its error message>".
c10d_state() {
  timeout 60 "$ARCHDSL_PYTHON" - "$ARCHDSL_NATIVE" <<'PY' 2>&1 | tail -n 1
import ctypes, sys
try:
    import torch  # noqa: F401 -- the libtorch (and CUDA libraries) this shim was built against, loaded as in PyTorch
except ImportError:
    pass
lib = ctypes.CDLL(sys.argv[1])
lib.ats_last_error.restype = ctypes.c_char_p
if lib.ats_distributed_check() != 0:
    print("unbound", (lib.ats_last_error() or b"").decode().replace("\n", " "))
else:
    print("bound", "nccl" if lib.ats_pg_nccl_available() == 1 else "gloo")
PY
}
if want ddp; then
  state="$(c10d_state)"
  sum ""; sum "## (e) data-parallel training (c10d): the shim reports: $state"
  nproc=2; backend=gloo
  if [ "$device" = cuda ]; then
    backend=nccl
    gpus="$("$ARCHDSL_PYTHON" -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)"
    [ "$gpus" -lt 2 ] 2>/dev/null && nproc=1   # NCCL takes one GPU per process; world size 1 still runs NCCL's path
  fi
  # On the CPU any bound shim runs Gloo; on CUDA it must have NCCL.
  if [[ "$state" == "bound "* ]] && { [ "$backend" = gloo ] || [ "$state" = "bound nccl" ]; }; then
    sum "archc train specs/convmixer.arch --device $device --nproc $nproc ($backend) $GPU_CHECK_DDP"
    archc_step ddp "$GPU_CHECK_DDP_TIMEOUT" "$GPU_CHECK_DDP" train specs/convmixer.arch --device "$device" --nproc "$nproc" \
      --runs "$out/steps/ddp-runs" --checkpoint-every 0
    grep -E "^data-parallel:|^error|error:|test accuracy" "$out/steps/ddp.log" >>"$summary"
    s="$(ls -d "$out"/steps/ddp-runs/*/summary.yaml 2>/dev/null | head -n 1)"
    if [ -n "$s" ]; then
      grep -E "^(world_size|world_sizes|backend|batch_per|batch_per_rank|images_per_s):|^allreduce:|^  (bytes_per_step|time_per_step_s|bandwidth_mb_s):" "$s" |
        sed 's/^/    summary.yaml: /' >>"$summary"
    fi
  else
    # Not bound with the backend this device needs: a failure to fix. Where CMake's test-compile of the 2.x binding
    # failed, the message names the compiler's log: its first errors go to the summary, the whole log into details.
    log_path="$(sed -n "s/.*the compiler's output: \([^)]*\)).*/\1/p" <<<"$state")"
    if [ -n "$log_path" ] && [ -f "$log_path" ]; then
      cp "$log_path" "$out/steps/c10d-v2-try.log"
      sum "the libtorch 2.x binding (Runtime/native/src/distributed.cpp) did not compile; first errors of $log_path:"
      grep -E "error|required from here" "$log_path" | head -n 25 | sed 's/^/    /' >>"$summary"
    fi
    say "== ddp: c10d not bound with $backend ($state)"
    printf '%-26s %-22s %5ss\n' ddp "FAILED (not bound)" 0 >>"$out/steps/status.txt"
    failed=1
  fi
fi

# ---- the end --------------------------------------------------------------------------------------------------------
sum ""; sum "## steps"; cat "$out/steps/status.txt" >>"$summary" 2>/dev/null
sum "total: ${SECONDS}s"
sum "result: $([ $failed = 0 ] && echo 'all steps passed' || echo 'FAILED (see above and gpu-check.log)')"
# Few files for a caller that fetches $OUT: each step's log and the training run, packed into one archive.
find "$out/steps/runs" -name '*.safetensors' -delete 2>/dev/null
tar -C "$out" -czf "$out/details.tar.gz" steps && rm -rf "$out/steps"
cat "$summary" >&2
exit $failed
