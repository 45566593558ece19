#!/usr/bin/env python3
"""PyTorch reference for docs/memory.md: the same SFT step as MemoryBenchmarkTests (fp32 weights,
AdamW, batch 4 × 512 random tokens, loss on the second half of each row) on a model directory,
with or without gradient checkpointing. Prints peak RSS (getrusage) and tokens/s per step.

    /work/venv/bin/python scripts/memory/torch-sft-memory.py MODEL_DIR [--checkpointing]
"""
import resource
import sys
import time

import torch
from transformers import AutoModelForCausalLM

path = sys.argv[1]
checkpointing = "--checkpointing" in sys.argv
torch.manual_seed(1)
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
model.config.use_cache = False
if checkpointing:
    model.gradient_checkpointing_enable()
model.train()
print("after load: peak %.0f MB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), flush=True)
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
B, T, V = 4, 512, model.config.vocab_size
for step in range(3):
    tokens = torch.randint(0, V, (B, T))
    labels = tokens.clone()
    labels[:, : T // 2] = -100
    started = time.time()
    loss = model(input_ids=tokens, labels=labels).loss
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=False)
    seconds = time.time() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("torch checkpointing=%d step %d: loss %.4f, %.0f tokens/s, peak %.0f MB"
          % (checkpointing, step + 1, loss.item(), B * T / seconds, peak), flush=True)
