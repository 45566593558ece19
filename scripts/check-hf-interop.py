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

A stage's output from a published model (e.g. `rlhf sft --model Tests/TrainingTests/Fixtures/chat/llama3
--data sft.jsonl --out /tmp/sft-llama3`): transformers must load it as the same model_type, with the
same tokenizer and chat template, render a conversation to the ids `rlhf tokenizer chat` gives, and
compute finite logits:

    .venv/bin/python scripts/check-hf-interop.py --chat /tmp/sft-llama3 Tests/TrainingTests/Fixtures/chat/llama3
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


def chat_output(run, source):
    from transformers import AutoTokenizer
    failures = []
    config, original = AutoConfig.from_pretrained(run), AutoConfig.from_pretrained(source)
    if config.model_type != original.model_type:
        failures.append(f"model_type {config.model_type} != {original.model_type}")
    tokenizer, source_tokenizer = AutoTokenizer.from_pretrained(run), AutoTokenizer.from_pretrained(source)
    if tokenizer.chat_template != source_tokenizer.chat_template:
        failures.append("chat template differs from the input model's")
    messages = [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]
    ids = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    if ids != source_tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]:
        failures.append("the conversation tokenizes differently")
    model = AutoModelForCausalLM.from_pretrained(run, dtype=torch.float32)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits
    if not torch.isfinite(logits).all():
        failures.append("non-finite logits")
    dtype = str(next(AutoModelForCausalLM.from_pretrained(run).parameters()).dtype).replace("torch.", "")
    print(f"{'FAIL' if failures else 'ok'} {run}: {type(model).__name__} model_type {config.model_type}, dtype {dtype}, "
          f"{len(ids)} chat tokens" + ("; " + "; ".join(failures) if failures else ""))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--roundtrip":
        roundtrip(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "--chat":
        chat_output(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3:
        text_loss(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
