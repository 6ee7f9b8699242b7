#!/usr/bin/env bash
# tplm against llama.cpp on the same GGUF files, same threads, interleaved runs.
# Not run by CI (minutes to build llama.cpp, GBs of models, long runs).
#
#   scripts/bench_vs_llamacpp.sh [BUILD_DIR]
#
# Environment (defaults in brackets):
#   BENCH_CACHE   where the llama-cpp-python venv is built once [~/.cache/tplm-bench]
#   BENCH_MODELS  where the models are made, never in the repo [/tmp/tplm-bench]
#   BENCH_TYPES   the files to compare [F16 BF16 Q8_0 Q4_0 Q4_K_M Q5_K_M Q6_K]
#   BENCH_RUNS    interleaved runs per engine and model [3]
#   BENCH_THREADS threads for both engines [2]
#   BENCH_SHAPE   gen_fixture.py shape options [the 1B class: dim 2048, 16 layers,
#                 32 heads, 8 kv heads, FFN 8192, vocab 32000]
#   BENCH_TP2     1: also tplm tp 2 (2 ranks x 1 thread) against tp 1 on Q4_0, Q8_0 [1]
#
# llama-cpp-python is installed from PyPI (pinned below) and builds llama.cpp
# from source with CMAKE_ARGS=-DGGML_NATIVE=ON; the F32..Q4_0 files come from
# tools/gen_fixture.py, the K-quant files from llama.cpp's own quantizer
# (llama_model_quantize on the F32 file: Q4_K_M, Q5_K_M, Q6_K).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
LLAMA_CPP_PYTHON_VERSION=0.3.36
CACHE=${BENCH_CACHE:-$HOME/.cache/tplm-bench}
MODELS=${BENCH_MODELS:-/tmp/tplm-bench}
TYPES=${BENCH_TYPES:-F16 BF16 Q8_0 Q4_0 Q4_K_M Q5_K_M Q6_K}
RUNS=${BENCH_RUNS:-3}
THREADS=${BENCH_THREADS:-2}
SHAPE=${BENCH_SHAPE:---dim 2048 --ffn 8192 --layers 16 --heads 32 --kv-heads 8 --vocab 32000 --context 2048 --untied}
TP2=${BENCH_TP2:-1}
VENV=$CACHE/venv-llama-cpp-python-$LLAMA_CPP_PYTHON_VERSION
STEM=$MODELS/llama1b

[[ -x $BUILD/tplm ]] || { echo "bench: no $BUILD/tplm: build tplm first (RelWithDebInfo)" >&2; exit 1; }
mkdir -p "$CACHE" "$MODELS"

if ! "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then
  echo "==> building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION (llama.cpp from source, minutes)" >&2
  python3 -m venv "$VENV"
  CMAKE_ARGS="-DGGML_NATIVE=ON" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
    "$VENV/bin/pip" install -q --no-cache-dir "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION"
fi

if [[ ! -f $STEM.Q4_0.gguf ]]; then
  echo "==> making the models in $MODELS (tools/gen_fixture.py)" >&2
  # shellcheck disable=SC2086
  python3 "$ROOT/tools/gen_fixture.py" "$STEM" $SHAPE \
    --formats gguf:F32,gguf:F16,gguf:BF16,gguf:Q8_0,gguf:Q4_0
fi
for kq in Q4_K_M:15 Q5_K_M:17 Q6_K:18; do
  name=${kq%%:*} ftype=${kq##*:}
  [[ -f $STEM.$name.gguf ]] && continue
  echo "==> $STEM.$name.gguf (llama_model_quantize, ftype $ftype)" >&2
  # Written under a temporary name: an interrupted quantization leaves no file.
  "$VENV/bin/python" - "$STEM.F32.gguf" "$STEM.$name.gguf.part" "$ftype" "$THREADS" <<'PY'
import sys
import llama_cpp
src, dst, ftype, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
p = llama_cpp.llama_model_quantize_default_params()
p.ftype = ftype
p.nthread = threads
rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), p)
sys.exit(rc)
PY
  mv "$STEM.$name.gguf.part" "$STEM.$name.gguf"
done

# The library's measurement (backend/cpu/read_bandwidth.cpp), the one tplm bench and plan use.
c++ -std=c++20 -O2 -march=native -pthread -I"$ROOT/src" "$ROOT/bench/read_bandwidth.cpp" \
  "$ROOT/src/backend/cpu/read_bandwidth.cpp" "$ROOT/src/backend/cpu/host_memory.cpp" -o "$MODELS/read_bandwidth"

# One llama.cpp run: load, prefill 128 tokens in one batch, 64 single-token
# decode steps, each timed around llama.cpp's eval (tplm bench times the same
# spans); prints "prefill TOK/S decode TOK/S".
cat > "$MODELS/llama_run.py" <<'PY'
import sys
import time
import llama_cpp
model, threads = sys.argv[1], int(sys.argv[2])
llm = llama_cpp.Llama(model_path=model, n_threads=threads, n_threads_batch=threads, n_ctx=512,
                      n_batch=128, n_ubatch=128, verbose=False)
prompt = [1] + [100 + (i * 7919) % 30000 for i in range(127)]
t0 = time.perf_counter()
llm.eval(prompt)
t1 = time.perf_counter()
tok = 100
for i in range(64):
    llm.eval([tok])
    tok = 100 + (tok * 31 + i) % 30000
t2 = time.perf_counter()
print(f"prefill {128 / (t1 - t0):.3f} decode {64 / (t2 - t1):.3f}")
PY

VERSION=$("$VENV/bin/python" -c "import llama_cpp; print(llama_cpp.__version__)")
# shellcheck disable=SC2086
python3 - "$BUILD/tplm" "$VENV/bin/python" "$MODELS" "$STEM" "$RUNS" "$THREADS" "$TP2" "$VERSION" $TYPES <<'PY'
import re
import statistics
import subprocess
import sys

import gguf

tplm, vpy, models, stem, runs, threads, tp2, version = sys.argv[1:9]
types = sys.argv[9:]
runs, threads = int(runs), int(threads)


def tplm_run(path, tp, thr):
    out = subprocess.run([tplm, "bench", "-m", path, "--tp", str(tp), "--threads", str(thr),
                          "--prompt-tokens", "128", "--gen-tokens", "64"],
                         capture_output=True, text=True, check=True).stdout
    pre = float(re.search(r"prefill: .* = ([0-9.]+) tokens/s", out).group(1))
    dec = float(re.search(r"decode: .* = ([0-9.]+) tokens/s", out).group(1))
    return pre, dec


def llama_run(path):
    out = subprocess.run([vpy, f"{models}/llama_run.py", path, str(threads)],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"prefill ([0-9.]+) decode ([0-9.]+)", out)
    return float(m.group(1)), float(m.group(2))


def bandwidth():
    out = subprocess.run([f"{models}/read_bandwidth", str(threads), "2048"],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def decode_bytes(path):
    """Weight bytes one decode step reads: every tensor but the embedding table."""
    r = gguf.GGUFReader(path)
    return sum(int(t.n_bytes) for t in r.tensors if t.name != "token_embd.weight")


def fmt(v):
    return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"


bws = [bandwidth()]
rows = []
for ty in types:
    path = f"{stem}.{ty}.gguf"
    t_pre, t_dec, l_pre, l_dec, r_pre, r_dec = [], [], [], [], [], []
    for i in range(runs):  # interleaved: tplm, llama.cpp, tplm, llama.cpp, ...
        tp_, td = tplm_run(path, 1, threads)
        lp, ld = llama_run(path)
        t_pre.append(tp_), t_dec.append(td), l_pre.append(lp), l_dec.append(ld)
        r_pre.append(tp_ / lp), r_dec.append(td / ld)
        print(f"  {ty} run {i + 1}: tplm prefill {tp_:.1f} decode {td:.2f}; "
              f"llama.cpp prefill {lp:.1f} decode {ld:.2f}", file=sys.stderr, flush=True)
    bws.append(bandwidth())
    rows.append((ty, decode_bytes(path), t_dec, l_dec, r_dec, t_pre, l_pre, r_pre))

bw = statistics.median(bws)
print(f"\nllama-cpp-python {version}; {threads} threads each; {runs} interleaved runs; "
      f"128-token prefill, 64 decode steps; median (min-max)")
print(f"read bandwidth ({threads} threads): median {bw:.1f} GB/s "
      f"({min(bws):.1f}-{max(bws):.1f}, {len(bws)} measurements between the models)\n")
print("| model | decode tplm tok/s | decode llama.cpp tok/s | decode ratio | tplm GB/s read "
      "(% of bandwidth) | prefill tplm tok/s | prefill llama.cpp tok/s | prefill ratio |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for ty, nbytes, t_dec, l_dec, r_dec, t_pre, l_pre, r_pre in rows:
    gbs = nbytes * statistics.median(t_dec) / 1e9
    print(f"| 1B {ty} | {fmt(t_dec)} | {fmt(l_dec)} | {fmt(r_dec)} | {gbs:.1f} "
          f"({100 * gbs / bw:.0f}%) | {fmt(t_pre)} | {fmt(l_pre)} | {fmt(r_pre)} |")

if tp2 == "1":
    print("\ntplm tp 2 (2 ranks x 1 thread) against tp 1 (1 rank x "
          f"{threads} threads), decode tok/s, interleaved\n")
    print("| model | tp 1 | tp 2 | tp 2 / tp 1 |")
    print("| --- | --- | --- | --- |")
    for ty in ("Q4_0", "Q8_0"):
        path = f"{stem}.{ty}.gguf"
        one, two, ratio = [], [], []
        for i in range(runs):
            a = tplm_run(path, 1, threads)[1]
            b = tplm_run(path, 2, max(1, threads // 2))[1]
            one.append(a), two.append(b), ratio.append(b / a)
        print(f"| 1B {ty} | {fmt(one)} | {fmt(two)} | {fmt(ratio)} |")
PY
