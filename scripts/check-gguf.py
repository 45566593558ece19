#!/usr/bin/env python3
"""Developer check of `rlhf export gguf` against llama.cpp itself (not run in CI).

For each model family fixture under Tests/ModelsTests/Fixtures/hf (tiny configs written by
transformers), this builds a random-weight model of that config with transformers, its vocabulary
sized to one of the tokenizer.json fixtures under Tests/TokenizersTests/Fixtures (byte-level
GPT-2 / Llama 3 / Qwen2 and SentencePiece-style ones), saves it with save_pretrained beside the
tokenizer and a chat template, exports it with our CLI, loads the GGUF file in llama.cpp
(llama-cpp-python) and compares with transformers on the same token sequence:

  - tokenization: llama.cpp's tokens of the text against the tokenizers library's;
  - f32 (and f16): greedy tokens and logits, max |Δ| / max |logit|;
  - q8_0: max logit error and the perplexity of the text under both.

With --converter LLAMA_CPP_DIR (a llama.cpp checkout or the llama-cpp-python sdist's vendor/llama.cpp)
it also runs llama.cpp's own convert_hf_to_gguf.py --outtype f32 on each folder and lists every
metadata key and tensor that differs from ours. The converter finds tokenizer.ggml.pre by hashing
the encoding of a test string, which these fixture tokenizers are not in its table for, so the
name we chose is given to it; sentencepiece is stubbed when absent (only tokenizer.json is used).

    /work/venv/bin/pip install llama-cpp-python
    swift build && /work/venv/bin/python scripts/check-gguf.py [--rlhf .build/debug/rlhf] [--keep DIR]
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import transformers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "hf")
TOKENIZERS = os.path.join(ROOT, "Tests", "TokenizersTests", "Fixtures")

# (model fixture, tokenizer fixture, bos, eos, chat template)
CASES = [
    ("llama-gqa-llama3", "llama3", "<|begin_of_text|>", "<|eot_id|>",
     "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n"
     "{{ m.content }}<|eot_id|>{% endfor %}"),
    ("llama-linear-tied-bias-bf16-sharded", "sentencepiece", "<s>", "</s>",
     "{{ bos_token }}{% for m in messages %}[INST] {{ m.content }} [/INST]{% endfor %}"),
    ("mistral", "metaspace", "<s>", "</s>",
     "{{ bos_token }}{% for m in messages %}[INST] {{ m.content }} [/INST]{% endfor %}"),
    ("qwen2-tied", "qwen2", None, "<|im_end|>",
     "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"),
    ("qwen3-headdim", "qwen2", None, "<|im_end|>",
     "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"),
    ("gpt2", "gpt2", "<|endoftext|>", "<|endoftext|>", None),
]

TEXT = ("The quick brown fox jumps over the lazy dog. It was 1234 degrees, and they'll say it's fine! "
        "Tokens, merges and bytes.")
HELD_OUT = "A second line of held-out words: river, stone, 56 birds and the wind in the trees."


def make_model(case, tokenizer_name, bos, eos, template, directory):
    with open(os.path.join(MODELS, case, "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(TOKENIZERS, tokenizer_name + ".json")) as f:
        tok = json.load(f)
    ids = list(tok["model"]["vocab"].values()) + [t["id"] for t in tok["added_tokens"]]
    added = {t["content"]: t["id"] for t in tok["added_tokens"]}
    config["vocab_size"] = max(ids) + 1
    config["bos_token_id"] = added.get(bos)
    config["eos_token_id"] = added.get(eos)
    config["pad_token_id"] = None
    dtype = config.pop("dtype", "float32")
    hf_config = transformers.AutoConfig.for_model(**config)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(hf_config)
    # Larger weights than the 0.02 init, so logits spread and greedy choices are not ties.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.15)
            elif name.endswith("bias"):
                p.normal_(0, 0.1)
            else:
                p.copy_(1 + 0.1 * torch.randn_like(p))
    if dtype == "bfloat16":
        model = model.to(torch.bfloat16)
    model.save_pretrained(directory)
    shutil.copy(os.path.join(TOKENIZERS, tokenizer_name + ".json"), os.path.join(directory, "tokenizer.json"))
    tokenizer_config = {"tokenizer_class": "PreTrainedTokenizerFast"}
    if bos:
        tokenizer_config["bos_token"] = bos
    if eos:
        tokenizer_config["eos_token"] = eos
    if tokenizer_name in ("sentencepiece", "metaspace"):
        tokenizer_config["unk_token"] = "<unk>"
    if template:
        tokenizer_config["chat_template"] = template
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config, f)
    # The reference is what a user would load: the saved files in float32. (The in-memory model
    # after .to(bfloat16).float() keeps bf16-rounded rotary inv_freq buffers: ~1e-3 off.)
    return transformers.AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()


def hf_logits(model, tokens):
    with torch.no_grad():
        return model(torch.tensor([tokens])).logits[0].float().numpy()


def llama_logits(path, tokens):
    from llama_cpp import Llama  # imported late: the model building above needs only torch
    # F32 key/value cache (GGML_TYPE_F32 = 0): the default F16 cache alone costs ~1e-3 relative.
    llm = Llama(model_path=path, n_ctx=64, logits_all=True, verbose=False, n_threads=2, seed=0,
                type_k=0, type_v=0, flash_attn=False)
    llm.reset()
    llm.eval(tokens)
    logits = np.array(llm.scores[:len(tokens)], dtype=np.float32)
    cpp_tokens = llm.tokenize(TEXT.encode(), add_bos=False, special=False)
    return logits, cpp_tokens, llm.metadata


CONVERT = """
import os, sys, runpy
sys.path.insert(0, sys.argv[1]); sys.path.insert(1, os.path.join(sys.argv[1], 'gguf-py'))
import conversion.base as base
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: os.environ['PRE']
sys.argv = ['convert_hf_to_gguf.py'] + sys.argv[2:]
runpy.run_path(os.path.join(sys.path[0], 'convert_hf_to_gguf.py'), run_name='__main__')
"""


def converter_differences(converter, directory, pre, ours):
    """Runs llama.cpp's converter on `directory` and returns the differences from `ours`."""
    source = directory
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    if config.get("model_type") == "gpt2" and "n_ctx" not in config:
        # The converter reads n_ctx, which transformers 5 no longer writes (n_positions).
        source = directory + "-nctx"
        shutil.rmtree(source, ignore_errors=True)
        shutil.copytree(directory, source, ignore=shutil.ignore_patterns("*.gguf"))
        config["n_ctx"] = config["n_positions"]
        with open(os.path.join(source, "config.json"), "w") as f:
            json.dump(config, f)
    stub = tempfile.mkdtemp(prefix="stub-")
    with open(os.path.join(stub, "sentencepiece.py"), "w") as f:
        f.write("class SentencePieceProcessor: pass\n")
    reference = directory + "-converter-f32.gguf"
    env = dict(os.environ, PRE=pre, PYTHONPATH=stub)
    subprocess.run([sys.executable, "-c", CONVERT, converter, source, "--outfile", reference, "--outtype", "f32"],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sys.path.insert(0, os.path.join(converter, "gguf-py"))
    from gguf import GGUFReader

    def load(path):
        reader = GGUFReader(path)
        fields = {k: ([int(t) for t in f.types], f.contents()) for k, f in reader.fields.items()
                  if not k.startswith("GGUF.")}
        tensors = {t.name: (tuple(int(x) for x in t.shape), int(t.tensor_type), np.array(t.data))
                   for t in reader.tensors}
        return fields, tensors

    (a, at), (b, bt) = load(ours), load(reference)
    out = []
    for k in sorted(set(a) | set(b)):
        if k not in a or k not in b:
            out.append(f"{k} only in {'ours' if k in a else 'converter'}")
            continue
        (ta, va), (tb, vb) = a[k], b[k]
        if ta != tb:
            out.append(f"{k}: type {ta} vs {tb}")
        elif isinstance(va, float):
            if abs(va - vb) > 1e-6 * max(1.0, abs(vb)):
                out.append(f"{k}: {va} vs {vb}")
        elif va != vb:
            n = sum(x != y for x, y in zip(va, vb)) if isinstance(va, list) else 1
            out.append(f"{k}: {n} value(s) differ" if isinstance(va, list) else f"{k}: {va!r} vs {vb!r}")
    for n in sorted(set(at) | set(bt)):
        if n not in at or n not in bt:
            out.append(f"tensor {n} only in {'ours' if n in at else 'converter'}")
        elif at[n][:2] != bt[n][:2]:
            out.append(f"tensor {n}: shape/type {at[n][:2]} vs {bt[n][:2]}")
        elif not np.array_equal(at[n][2], bt[n][2]):
            out.append(f"tensor {n}: max |Δ| {np.abs(at[n][2] - bt[n][2]).max():.1e}")
    return out


def perplexity(logits, tokens):
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    nll = -np.mean([logp[i, tokens[i + 1]] for i in range(len(tokens) - 1)])
    return math.exp(nll)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rlhf", default=os.path.join(ROOT, ".build", "debug", "rlhf"))
    parser.add_argument("--keep", help="write the models here instead of a temporary folder")
    parser.add_argument("--converter", help="llama.cpp folder with convert_hf_to_gguf.py: compare with its output")
    args = parser.parse_args()
    base = args.keep or tempfile.mkdtemp(prefix="check-gguf-")
    failures = 0
    rows = []
    for case, tok_name, bos, eos, template in CASES:
        directory = os.path.join(base, case)
        os.makedirs(directory, exist_ok=True)
        model = make_model(case, tok_name, bos, eos, template, directory)
        hf_tok = transformers.PreTrainedTokenizerFast(tokenizer_file=os.path.join(directory, "tokenizer.json"))
        text_tokens = hf_tok.encode(TEXT, add_special_tokens=False)
        held_tokens = hf_tok.encode(HELD_OUT, add_special_tokens=False)
        ctx = model.config.max_position_embeddings if hasattr(model.config, "max_position_embeddings") \
            else model.config.n_positions
        tokens = text_tokens[:min(ctx, 48)]
        held = held_tokens[:min(ctx, 48)]
        reference = hf_logits(model, tokens)
        reference_held = hf_logits(model, held)
        result = {"case": case, "tokenizer": tok_name}
        for gguf_type in ("f32", "f16", "q8_0"):
            out = os.path.join(directory, f"model-{gguf_type}.gguf")
            subprocess.run([args.rlhf, "export", "gguf", "--model", directory, "--out", out, "--type", gguf_type,
                            "--overwrite"], check=True, stdout=subprocess.DEVNULL)
            logits, cpp_tokens, metadata = llama_logits(out, tokens)
            held_logits, _, _ = llama_logits(out, held)
            scale = float(np.abs(reference).max())
            rel = float(np.abs(logits - reference).max()) / scale
            greedy = bool((logits.argmax(-1) == reference.argmax(-1)).all())
            if not greedy:
                top2 = np.sort(reference, -1)[:, -2:]
                bad = np.nonzero(logits.argmax(-1) != reference.argmax(-1))[0]
                print(f"  {case} {gguf_type}: greedy differs at {bad.tolist()}, transformers' top-2 margin there "
                      f"{(top2[bad, 1] - top2[bad, 0]).round(4).tolist()}", file=sys.stderr)
            result[gguf_type] = {
                "rel_err": rel, "max_abs_err": float(np.abs(logits - reference).max()), "greedy_same": greedy,
                "ppl_hf": perplexity(reference_held, held), "ppl_cpp": perplexity(held_logits, held)}
            if gguf_type == "f32":
                result["tokenization_same"] = cpp_tokens == text_tokens
                result["pre"] = metadata.get("tokenizer.ggml.pre")
                result["chat_template"] = "tokenizer.chat_template" in metadata
                if not (rel < 1e-3 and greedy):
                    failures += 1
                if cpp_tokens != text_tokens:
                    failures += 1
                    print(f"  {case}: tokens differ\n    hf  {text_tokens}\n    cpp {cpp_tokens}", file=sys.stderr)
        if args.converter:
            result["converter_differences"] = converter_differences(
                args.converter, directory, result["pre"], os.path.join(directory, "model-f32.gguf"))
            print(f"  differences from convert_hf_to_gguf.py: {result['converter_differences']}")
            from llama_cpp import Llama
            llm = Llama(model_path=directory + "-converter-f32.gguf", vocab_only=True, verbose=False)
            result["converter_tokenization_same"] = [
                llm.tokenize(t.encode(), add_bos=False, special=False) == hf_tok.encode(t, add_special_tokens=False)
                for t in (TEXT, HELD_OUT, "internationalization hello world merging tokens together")]
            print(f"  llama.cpp tokenizes like tokenizers with the converter's file: "
                  f"{result['converter_tokenization_same']}")
        rows.append(result)
        f32, f16, q8 = result["f32"], result["f16"], result["q8_0"]
        print(f"{case:38s} {tok_name:13s} pre={result['pre']:<9s} tok_same={result['tokenization_same']!s:5s} "
              f"f32 rel={f32['rel_err']:.2e} greedy={f32['greedy_same']!s:5s} "
              f"f16 rel={f16['rel_err']:.2e} q8_0 rel={q8['rel_err']:.2e} max|Δ|={q8['max_abs_err']:.3f} "
              f"ppl hf={q8['ppl_hf']:.3f} q8_0={q8['ppl_cpp']:.3f} f32={f32['ppl_cpp']:.3f}", flush=True)
    with open(os.path.join(base, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print(f"results in {base}/results.json; {failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
