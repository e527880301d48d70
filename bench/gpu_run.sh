#!/usr/bin/env bash
# Runs bench/gpu_bench.py suites on the lent GPU, each in its own process.
#
#   bash bench/gpu_run.sh speed "memory --cap 24" brief
#   bash bench/gpu_run.sh "ranks=2 parallel --parallel cfg"     # torchrun, 2 processes (one per GPU)
#
# The device image lacks diffusers, bitsandbytes, torchao and qwen-vl-utils: they travel as
# wheels in the ignored folder .wheels/ (see BENCHMARKS.md for the pip download line).
set -uo pipefail
OUT=${OUT:-bench/results/run}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .wheels/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,clocks.max.sm --format=csv 2>&1 | tee -a "$OUT/log.txt"
for suite in "$@"; do
    echo "=== $suite" | tee -a "$OUT/log.txt"
    launch=(python3)
    if [[ $suite == ranks=* ]]; then
        # One process per GPU through torchrun (torch.distributed.run); rank 0 writes the rows.
        ranks=${suite%% *}; ranks=${ranks#ranks=}; suite=${suite#* }
        launch=(python3 -m torch.distributed.run --standalone --nproc-per-node "$ranks")
    fi
    # shellcheck disable=SC2086
    timeout "${SUITE_TIMEOUT:-560}" "${launch[@]}" bench/gpu_bench.py $suite --out "$OUT" >>"$OUT/log.txt" 2>&1
    echo "=== $suite exit $?" | tee -a "$OUT/log.txt"
done
python3 bench/gpu_bench.py table --out "$OUT"
