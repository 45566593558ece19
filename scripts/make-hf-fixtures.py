#!/usr/bin/env python3
"""Tiny checkpoints written by Hugging Face `transformers` itself, one per model family we load.

For each case this builds a random-weight model from a transformers config class, saves it with
`save_pretrained` (so config.json, the safetensors layout, sharding and dtype are exactly what
transformers writes), runs a fixed token batch through it in float32 and stores the logits and
the mean next-token NLL in `expected.json` beside the checkpoint:

    Tests/ModelsTests/Fixtures/hf/<case>/{config.json, model.safetensors | shards + index, expected.json}

The Swift tests (HuggingFaceFixtureTests) load each directory with `Transformer.load(from:)` and
compare. Developer-only (needs torch + transformers; CI does not run it):

    /work/venv/bin/python scripts/make-hf-fixtures.py
"""
import json
import os
import shutil

import torch
import transformers
from transformers import (GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ModelsTests", "Fixtures", "hf")
VOCAB = 128
COMMON = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, max_position_embeddings=64, rms_norm_eps=1e-5,
              bos_token_id=1, eos_token_id=2, pad_token_id=0)


def cases():
    yield "llama-gqa-llama3", LlamaForCausalLM, LlamaConfig(
        **COMMON, num_key_value_heads=2, tie_word_embeddings=False,
        # Head size 8: wavelengths 6.3, 63, 628, 6283 against original context 16 (low 16, high
        # 4) put one frequency in the smoothed band and three in the divided one.
        rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 16}), {}
    yield "llama-linear-tied-bias-bf16-sharded", LlamaForCausalLM, LlamaConfig(
        **COMMON, num_key_value_heads=4, tie_word_embeddings=True, attention_bias=True, mlp_bias=True,
        rope_parameters={"rope_type": "linear", "rope_theta": 500.0, "factor": 4.0}), \
        {"dtype": torch.bfloat16, "max_shard_size": "40KB"}
    yield "mistral", MistralForCausalLM, MistralConfig(
        **COMMON, num_key_value_heads=2, tie_word_embeddings=False, sliding_window=64,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}), {}
    yield "qwen2-tied", Qwen2ForCausalLM, Qwen2Config(
        **COMMON, num_key_value_heads=2, tie_word_embeddings=True, use_sliding_window=False), {}
    yield "qwen3-headdim", Qwen3ForCausalLM, Qwen3Config(
        **COMMON, num_key_value_heads=2, head_dim=16, tie_word_embeddings=False), {}
    yield "gpt2", GPT2LMHeadModel, GPT2Config(
        vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=64, bos_token_id=1, eos_token_id=2), {}
    yield "gpt2-f16", GPT2LMHeadModel, GPT2Config(
        vocab_size=VOCAB, n_embd=32, n_layer=1, n_head=2, n_positions=32, bos_token_id=1, eos_token_id=2), \
        {"dtype": torch.float16}


def randomize(model, generator):
    """Weights large enough that every part of the model moves the logits (init std 0.02 would
    leave them almost uniform and hide mistakes): matrices N(0, 1/fan_in), norms 1 ± 0.2,
    biases N(0, 0.1²)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name or "ln_" in name) and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
            else:
                fan_in = p.shape[0] if "c_" in name else p.shape[1]  # GPT-2 Conv1D is [in, out]
                if "embed" in name or "wte" in name or "wpe" in name:
                    fan_in = 8
                p.copy_(torch.randn(p.shape, generator=generator) / fan_in ** 0.5)


def main():
    torch.manual_seed(0)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    generator = torch.Generator().manual_seed(1234)
    tokens = torch.randint(0, VOCAB, (2, 12), generator=generator)
    for name, cls, config, options in cases():
        model = cls(config)
        randomize(model, generator)
        model.eval()
        dtype = options.get("dtype", torch.float32)
        model = model.to(dtype)
        directory = os.path.join(OUT, name)
        save = {"max_shard_size": options["max_shard_size"]} if "max_shard_size" in options else {}
        model.save_pretrained(directory, **save)
        # Reference logits in float32 from exactly the weights saved (bf16-rounded if bf16).
        reference = cls.from_pretrained(directory, dtype=torch.float32)
        reference.eval()
        with torch.no_grad():
            logits = reference(tokens).logits.double()
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        nll = -logp.gather(-1, tokens[:, 1:, None]).mean().item()
        expected = {"tokens": tokens.flatten().tolist(), "batch": tokens.shape[0], "length": tokens.shape[1],
                    "vocab": VOCAB, "model_type": config.model_type, "saved_dtype": str(dtype).replace("torch.", ""),
                    "logits": [round(x, 6) for x in logits.flatten().tolist()], "nll": nll,
                    "transformers": transformers.__version__, "torch": torch.__version__}
        with open(os.path.join(directory, "expected.json"), "w") as f:
            json.dump(expected, f, separators=(",", ":"))
        files = sorted(os.listdir(directory))
        size = sum(os.path.getsize(os.path.join(directory, f)) for f in files)
        print(f"{name}: {files} {size // 1024} KB, nll {nll:.4f}")


if __name__ == "__main__":
    main()
