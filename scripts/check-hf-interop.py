#!/usr/bin/env python3
"""Checks swift-rlhf runs against Hugging Face `transformers` (developer tool; needs torch).

Loss of a text (compare with `rlhf eval` on the same text, one window):

    .venv/bin/python scripts/check-hf-interop.py RUN_DIR TEXT_FILE
    rlhf eval --model RUN_DIR --data TEXT_FILE     # "model, whole text" loss must match

Load-back of runs our writer wrote (every family of scripts/make-hf-fixtures.py, loaded by
`Transformer.load`, written back by `ModelConfig.save` + `Transformer.encodedWeights` in the
dtype they came in): each must load in transformers as the same `model_type`, in the same dtype,
with the logits transformers computed for the original checkpoint:

    RLHF_HF_EXPORT_DIR=/tmp/hf-export RLHF_ONLY="Models" swift test --filter writtenRunReloadsIdentically
    .venv/bin/python scripts/check-hf-interop.py --roundtrip /tmp/hf-export
"""
import json
import os
import sys

import torch
from transformers import AutoConfig, AutoModelForCausalLM


def text_loss(run, text_file):
    from tokenizers import Tokenizer
    text = open(text_file, encoding="utf-8").read()
    tokenizer = Tokenizer.from_file(f"{run}/tokenizer.json")
    # `rlhf eval` starts the text after <|endoftext|>, as documents are separated in pretraining.
    ids = [tokenizer.token_to_id("<|endoftext|>")] + tokenizer.encode(text, add_special_tokens=False).ids
    model = AutoModelForCausalLM.from_pretrained(run, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        out = model(torch.tensor([ids]), labels=torch.tensor([ids]))
    print(f"transformers {type(model).__name__}: {len(ids) - 1} scored tokens, loss {out.loss.item():.4f} nats/token")


def roundtrip(root):
    failures = 0
    for name in sorted(os.listdir(root)):
        run = os.path.join(root, name)
        expected = json.load(open(os.path.join(run, "expected.json")))
        config = AutoConfig.from_pretrained(run)
        native = AutoModelForCausalLM.from_pretrained(run)  # the dtype the config records
        model = AutoModelForCausalLM.from_pretrained(run, dtype=torch.float32)
        model.eval()
        tokens = torch.tensor(expected["tokens"]).view(expected["batch"], expected["length"])
        with torch.no_grad():
            logits = model(tokens).logits.flatten()
        diff = (logits.double() - torch.tensor(expected["logits"], dtype=torch.float64)).abs().max().item()
        dtype = str(next(native.parameters()).dtype).replace("torch.", "")
        ok = (config.model_type == expected["model_type"] and dtype == expected["saved_dtype"] and diff < 1e-4)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {type(model).__name__} model_type {config.model_type}, "
              f"dtype {dtype}, max |Δlogit| {diff:.2e}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--roundtrip":
        roundtrip(sys.argv[2])
    elif len(sys.argv) == 3:
        text_loss(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
