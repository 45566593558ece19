#!/usr/bin/env python3
"""A SmolLM2-135M-shaped model with random weights, as transformers writes it, for timing our
stages on a real-sized model (docs/real-models.md). Nothing downloaded: the byte-level BPE
tokenizer is trained here on local text (Python's own library sources) up to 49152 tokens with
SmolLM2's special tokens, and the chat template is the SmolLM2 rendition from
Tests/TemplatesTests/Fixtures/chat-templates.json.

    /work/venv/bin/python scripts/real-models/make-smollm2-shaped.py OUT_DIR
"""
import glob
import json
import os
import sys
import sysconfig

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
bpe = Tokenizer(models.BPE())
bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bpe.decoder = decoders.ByteLevel()
files = sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "**", "*.py"), recursive=True))
trainer = trainers.BpeTrainer(vocab_size=49152, special_tokens=specials, min_frequency=2,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
def texts():
    for path in files:
        try:
            yield open(path, encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue


bpe.train_from_iterator(texts(), trainer)
tok = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                              pad_token="<|im_end|>", unk_token="<|endoftext|>")
templates = json.load(open(os.path.join(ROOT, "Tests", "TemplatesTests", "Fixtures", "chat-templates.json")))
tok.chat_template = templates["templates"]["smollm2"]
tok.save_pretrained(out)

torch.manual_seed(0)
config = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                     num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192,
                     rope_theta=100000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
                     bos_token_id=1, eos_token_id=2, pad_token_id=2)
model = LlamaForCausalLM(config).to(torch.bfloat16)
model.save_pretrained(out)
print(out, "tokenizer", len(tok), "tokens;", sum(p.numel() for p in model.parameters()), "parameters")
