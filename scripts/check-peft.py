#!/usr/bin/env python3
"""Checks that PEFT loads the LoRA adapters we write and computes our logits.

Runs the Swift test `exportAdaptersForPEFT` with LORA_PEFT_EXPORT set (it attaches adapters with
random A and B to each base fixture of Tests/ModelsTests/Fixtures/hf, saves them with our writer,
and stores our logits in ours.json), then for each: `PeftModel.from_pretrained(base, adapter)`
(no renaming, no options: exactly what a user of our runs does), logits on the same tokens, the
max absolute difference to ours, and the same after `merge_and_unload()`.

    /work/venv/bin/python scripts/check-peft.py [--no-build] [--export DIR]

Developer-only (needs torch + transformers + peft); the committed fixtures of the other direction
(PEFT's adapters loaded by us) are made by make-peft-fixtures.py.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import peft
import torch
from transformers import AutoModelForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--export", help="directory with adapters already exported (skip the Swift run)")
    parser.add_argument("--tolerance", type=float, default=2e-4)
    args = parser.parse_args()
    export = args.export
    if export is None:
        export = tempfile.mkdtemp(prefix="lora-peft-")
        env = dict(os.environ, LORA_PEFT_EXPORT=export, RLHF_ONLY=os.environ.get("RLHF_ONLY", "Models"))
        subprocess.run(["swift", "test", "--filter", "exportAdaptersForPEFT"],
                       cwd=ROOT, env=env, check=True)
    worst = 0.0
    for name in sorted(os.listdir(export)):
        directory = os.path.join(export, name)
        with open(os.path.join(directory, "ours.json")) as f:
            ours = json.load(f)
        with open(os.path.join(directory, "adapter_config.json")) as f:
            base_path = json.load(f)["base_model_name_or_path"]
        tokens = torch.tensor(ours["tokens"]).view(ours["batch"], ours["length"])
        base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
        model = peft.PeftModel.from_pretrained(base, directory)
        model.eval()
        with torch.no_grad():
            logits = model(tokens).logits.double().flatten()
            with model.disable_adapter():
                moved = (model(tokens).logits.double().flatten() - logits).abs().max().item()
            merged = model.merge_and_unload()(tokens).logits.double().flatten()
        expected = torch.tensor(ours["logits"], dtype=torch.float64)
        difference = (logits - expected).abs().max().item()
        merged_difference = (merged - expected).abs().max().item()
        worst = max(worst, difference, merged_difference)
        print(f"{name}: max |logit(PEFT) - logit(ours)| = {difference:.2e}, merged {merged_difference:.2e} "
              f"(the adapter moves the logits by {moved:.2f})")
    print(f"worst {worst:.2e} (tolerance {args.tolerance:.0e})")
    sys.exit(0 if worst <= args.tolerance else 1)


if __name__ == "__main__":
    main()
