#!/usr/bin/env python3
"""Tiny LoRA adapters written by PEFT itself, on the random-weight HF fixtures of make-hf-fixtures.py.

For each base (a Llama-family model and GPT-2, whose Conv1D layers PEFT handles with
`fan_in_fan_out`), this wraps the base with `peft.get_peft_model`, draws A and B at random (B is
zero after PEFT's own init, which would hide a wrong B), saves with `save_pretrained` (so
adapter_config.json and adapter_model.safetensors are exactly PEFT's), and stores the adapted
model's logits on the base fixture's token batch, and those of `merge_and_unload()`:

    Tests/ModelsTests/Fixtures/lora/<case>/{adapter_config.json, adapter_model.safetensors, expected.json}

`base_model_name_or_path` is rewritten to the base fixture's directory relative to the adapter's.
The Swift tests (LoRAPEFTTests) load each adapter onto its base and compare logits.
Developer-only (needs torch + transformers + peft):

    /work/venv/bin/python scripts/make-peft-fixtures.py
"""
import json
import os
import shutil

import peft
import torch
from transformers import AutoModelForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ModelsTests", "Fixtures")
CASES = [
    ("mistral", dict(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                        "up_proj", "down_proj"])),
    ("qwen2-tied", dict(r=2, lora_alpha=3, target_modules=["q_proj", "v_proj", "down_proj"])),
    ("gpt2", dict(r=4, lora_alpha=16, target_modules=["c_attn", "c_proj", "c_fc"], fan_in_fan_out=True)),
]


def main():
    out_root = os.path.join(ROOT, "lora")
    if os.path.isdir(out_root):
        shutil.rmtree(out_root)
    generator = torch.Generator().manual_seed(4321)
    for name, options in CASES:
        base_dir = os.path.join(ROOT, "hf", name)
        with open(os.path.join(base_dir, "expected.json")) as f:
            base_expected = json.load(f)
        tokens = torch.tensor(base_expected["tokens"]).view(base_expected["batch"], base_expected["length"])
        base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
        config = peft.LoraConfig(task_type="CAUSAL_LM", lora_dropout=0.0, **options)
        model = peft.get_peft_model(base, config)
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if "lora_" in pname:
                    p.copy_(0.3 * torch.randn(p.shape, generator=generator))
        model.eval()
        directory = os.path.join(out_root, name)
        model.save_pretrained(directory)
        path = os.path.join(directory, "adapter_config.json")
        with open(path) as f:
            saved = json.load(f)
        saved["base_model_name_or_path"] = os.path.join("..", "..", "hf", name)
        with open(path, "w") as f:
            json.dump(saved, f, indent=2, sort_keys=True)
        with torch.no_grad():
            logits = model(tokens).logits.double()
            with model.disable_adapter():
                base_logits = model(tokens).logits.double()
            merged = model.merge_and_unload()(tokens).logits.double()
        moved = (logits - base_logits).abs().max().item()
        expected = {"tokens": base_expected["tokens"], "batch": base_expected["batch"],
                    "length": base_expected["length"], "vocab": base_expected["vocab"],
                    "logits": [round(x, 6) for x in logits.flatten().tolist()],
                    "adapter_moves_logits_by": moved,
                    "merged_max_difference": (merged - logits).abs().max().item(),
                    "peft": peft.__version__, "torch": torch.__version__}
        with open(os.path.join(directory, "expected.json"), "w") as f:
            json.dump(expected, f, separators=(",", ":"))
        os.remove(os.path.join(directory, "README.md"))  # PEFT's model card: not needed
        print(f"{name}: {sorted(os.listdir(directory))}, adapter moves logits by {moved:.3f}, "
              f"merged vs unmerged {expected['merged_max_difference']:.2e}")


if __name__ == "__main__":
    main()
