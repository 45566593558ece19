#!/usr/bin/env python3
"""PyTorch's scaled_dot_product_attention (causal) forward and forward+backward at one context
length, shaped as scripts/bench-attention's swift side: B 1, H 8, D 64, fp32, best of 5.
    python3 scripts/lib/torch_attention_peer.py --length 1024 --threads 2"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--length", type=int, default=1024)
parser.add_argument("--threads", type=int, default=2)
options = parser.parse_args()
torch.set_num_threads(options.threads)
torch.manual_seed(0)
shape = (1, 8, options.length, 64)
q, k, v = (torch.randn(shape, requires_grad=True) for _ in range(3))
d_out = torch.randn(shape)
forward_best = total_best = float("inf")
for _ in range(5):
    q.grad = k.grad = v.grad = None
    start = time.perf_counter()
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    mid = time.perf_counter()
    out.backward(d_out)
    end = time.perf_counter()
    forward_best = min(forward_best, (mid - start) * 1e3)
    total_best = min(total_best, (end - start) * 1e3)
print(json.dumps(dict(mode="attention", length=options.length, forward_ms=round(forward_best, 2),
                      total_ms=round(total_best, 2))))
