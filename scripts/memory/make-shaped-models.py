#!/usr/bin/env python3
"""Random-weight Llama models of published shapes for the docs/memory.md table, as transformers
writes them (config.json + bf16 model.safetensors; no tokenizer: the stage benchmark draws random
token ids). Nothing downloaded.

    /work/venv/bin/python scripts/memory/make-shaped-models.py OUT_ROOT [SHAPE ...]

SHAPE: smollm2-135m (30×576, 9 heads, 3 KV, intermediate 1536, vocab 49152, tied),
smollm2-360m (32×960, 15 heads, 5 KV, intermediate 2560, vocab 49152, tied), llama-3.2-1b
(16×2048, 32 heads, 8 KV, intermediate 8192, vocab 128256, tied). Default: all three. Each is
built directly in bf16 (the 1B model takes 2.5 GB while it is made, not 5).
"""
import os
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SHAPES = {
    "smollm2-135m": dict(hidden_size=576, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                         intermediate_size=1536, vocab_size=49152, rope_theta=100000.0),
    "smollm2-360m": dict(hidden_size=960, num_hidden_layers=32, num_attention_heads=15, num_key_value_heads=5,
                         intermediate_size=2560, vocab_size=49152, rope_theta=100000.0),
    "llama-3.2-1b": dict(hidden_size=2048, num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8,
                         intermediate_size=8192, vocab_size=128256, rope_theta=500000.0),
}

root = sys.argv[1]
for name in sys.argv[2:] or list(SHAPES):
    out = os.path.join(root, name)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    config = LlamaConfig(**SHAPES[name], max_position_embeddings=8192, rms_norm_eps=1e-5,
                         tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    print(out, sum(p.numel() for p in model.parameters()), "parameters")
    del model
