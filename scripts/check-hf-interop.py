#!/usr/bin/env python3
"""Loads a swift-rlhf run directory with Hugging Face `transformers` and `tokenizers` and prints
the mean next-token loss of a text, to compare with `rlhf eval` on the same text (one window).

    .venv/bin/pip install torch transformers tokenizers
    .venv/bin/python scripts/check-hf-interop.py RUN_DIR TEXT_FILE
    rlhf eval --model RUN_DIR --data TEXT_FILE     # "model, whole text" loss must match
"""
import sys

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

run, text_file = sys.argv[1], sys.argv[2]
text = open(text_file, encoding="utf-8").read()
tokenizer = Tokenizer.from_file(f"{run}/tokenizer.json")
# `rlhf eval` starts the text after <|endoftext|>, as documents are separated in pretraining.
ids = [tokenizer.token_to_id("<|endoftext|>")] + tokenizer.encode(text, add_special_tokens=False).ids
model = AutoModelForCausalLM.from_pretrained(run, torch_dtype=torch.float32)
model.eval()
with torch.no_grad():
    out = model(torch.tensor([ids]), labels=torch.tensor([ids]))
print(f"transformers {type(model).__name__}: {len(ids) - 1} scored tokens, loss {out.loss.item():.4f} nats/token")
