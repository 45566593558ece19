#!/usr/bin/env bash
# The docs/memory.md stage table: SFT full, SFT LoRA, DPO LoRA, PPO LoRA at context 512, batch 2,
# 3 steps, on random-weight models of published shapes, one process per row (each reads its own
# peak), each under an address-space cap so an out-of-memory run kills only itself.
#
#   /work/venv/bin/python scripts/memory/make-shaped-models.py /tmp/shapes   # once
#   scripts/memory/stage-table.sh /tmp/shapes [ROW ...]     # ROW: model:stage[:recompute], e.g.
#                                                           # smollm2-360m:sft-lora  llama-3.2-1b:sft:1
# Without ROWs: the rows measured on the shared machine (estimated peak ≤ 8 GB). BIG=1 adds the
# rows estimated above that (run them on a quiet machine with the memory to spare):
# llama-3.2-1b full SFT (≈ 21 GB) and PPO LoRA (≈ 15 GB).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$1; shift
rows=("$@")
if [ ${#rows[@]} -eq 0 ]; then
    rows=(smollm2-135m:sft smollm2-135m:sft-lora smollm2-135m:dpo-lora smollm2-135m:ppo-lora
          smollm2-360m:sft-lora smollm2-360m:dpo-lora smollm2-360m:sft:1 smollm2-360m:ppo-lora:1
          llama-3.2-1b:sft-lora:1 llama-3.2-1b:dpo-lora:1)
    if [ "${BIG:-0}" = 1 ]; then rows+=(llama-3.2-1b:ppo-lora:1 llama-3.2-1b:sft:1); fi
fi
cap=${CAP_BYTES:-11000000000}   # prlimit --as; BIG rows need CAP_BYTES=26000000000
RLHF_ONLY="NN Models Training" swift build --build-tests > /dev/null
for row in "${rows[@]}"; do
    IFS=: read -r model stage recompute <<< "$row"
    RLHF_MEMORY_BENCH="$root/$model" RLHF_MEMORY_STAGE=$stage RLHF_MEMORY_RECOMPUTE=${recompute:-0} \
        RLHF_MEMORY_BATCH=${BATCH:-2} RLHF_MEMORY_STEPS=${STEPS:-3} RLHF_ONLY="NN Models Training" \
        prlimit --as="$cap" swift test --skip-build --filter stagePeakMemory 2>&1 \
        | grep -E "stage-bench|error|fatal" | sed "s|^|$model |" || echo "$model $stage: failed"
done
