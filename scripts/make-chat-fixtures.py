#!/usr/bin/env python3
"""Tiny chat models as `transformers` writes them, with a real-format tokenizer and chat template,
and what transformers makes of a few conversations:

    Tests/TrainingTests/Fixtures/chat/<case>/{config.json, generation_config.json, model.safetensors,
        tokenizer.json, tokenizer_config.json, chat_template.jinja, expected.json}

Cases: `llama3` (Llama 3 tokenizer fixture + Llama 3 template, bf16 weights) and `qwen2` (Qwen2
tokenizer fixture + Qwen2.5 template, f32 tied weights). The tokenizers come from
Tests/TokenizersTests/Fixtures, the templates from Tests/TemplatesTests/Fixtures/chat-templates.json.

expected.json holds, per conversation: `apply_chat_template(messages, tokenize=True)` ids, the text,
and the mask of trained tokens by the span rule of `renderWithAssistantSpans`: an assistant span
starts where `render(messages[:i], add_generation_prompt=True)` ends and runs through the first
end-of-turn marker after the content; a token is trained when its character range overlaps a span
(transformers' `return_assistant_tokens_mask` marks tokens by `char_to_token` the same way). Also
the generation-prompt ids of each conversation's messages before its last assistant turn.

Developer-only (CI has no torch):  /work/venv/bin/python scripts/make-chat-fixtures.py
"""
import json
import os
import shutil

import torch
from transformers import (LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config,
                          Qwen2ForCausalLM)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "chat")
TEMPLATES = json.load(open(os.path.join(ROOT, "Tests", "TemplatesTests", "Fixtures", "chat-templates.json")))

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."},
     {"role": "assistant", "content": "Blue, like the sky."}, {"role": "user", "content": "Another?"},
     {"role": "assistant", "content": "Green  grass\nand trees."}],
    [{"role": "user", "content": "Say <|im_end|> or <|eot_id|> literally"},
     {"role": "assistant", "content": "héllo wörld 🙂"}],
]


def case_list():
    yield ("llama3", "llama3.json", "llama3",
           dict(bos="<|begin_of_text|>", eos="<|eot_id|>", pad=None, end="<|eot_id|>",
                generation_eos=["<|end_of_text|>", "<|eot_id|>"]),
           LlamaConfig, LlamaForCausalLM, dict(tie_word_embeddings=False), torch.bfloat16)
    yield ("qwen2", "qwen2.json", "qwen2.5",
           dict(bos=None, eos="<|im_end|>", pad="<|endoftext|>", end="<|im_end|>",
                generation_eos=["<|im_end|>", "<|endoftext|>"]),
           Qwen2Config, Qwen2ForCausalLM, dict(tie_word_embeddings=True), torch.float32)


def spans(tok, messages, end_marker):
    """Character spans of the assistant messages (the rule described in the module comment)."""
    full = tok.apply_chat_template(messages, tokenize=False)
    result = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        prompt = tok.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)
        assert full.startswith(prompt)
        start = len(prompt)
        content_at = full.index(m["content"].strip(), start)
        end = full.index(end_marker, content_at) + len(end_marker)
        result.append((start, end))
    return full, result


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    for name, tokenizer_file, template, specials, config_class, model_class, extra, dtype in case_list():
        out = os.path.join(OUT, name)
        os.makedirs(out)
        kwargs = {k + "_token": v for k, v in (("bos", specials["bos"]), ("eos", specials["eos"]),
                                                ("pad", specials["pad"])) if v is not None}
        tok = PreTrainedTokenizerFast(
            tokenizer_file=os.path.join(ROOT, "Tests", "TokenizersTests", "Fixtures", tokenizer_file), **kwargs)
        tok.chat_template = TEMPLATES["templates"][template]
        tok.save_pretrained(out)

        vocab = len(tok)
        ids = lambda t: tok.convert_tokens_to_ids(t)
        torch.manual_seed(0)
        config = config_class(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                              rms_norm_eps=1e-5, bos_token_id=ids(specials["bos"]) if specials["bos"] else None,
                              eos_token_id=ids(specials["eos"]),
                              pad_token_id=ids(specials["pad"]) if specials["pad"] else None, **extra)
        model = model_class(config).to(dtype)
        model.generation_config.eos_token_id = [ids(t) for t in specials["generation_eos"]]
        model.save_pretrained(out)

        expected = {"end_of_turn": ids(specials["end"]),
                    "eos_ids": [ids(t) for t in specials["generation_eos"]], "conversations": []}
        for messages in CONVERSATIONS:
            text, char_spans = spans(tok, messages, specials["end"])
            encoding = tok(text, add_special_tokens=False, return_offsets_mapping=True)
            reference = tok.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
            assert encoding["input_ids"] == reference, name
            mask = [int(any(a < e and b > s for s, e in char_spans)) for a, b in encoding["offset_mapping"]]
            last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
            prompt = tok.apply_chat_template(messages[:last], tokenize=True, add_generation_prompt=True,
                                             return_dict=True)["input_ids"]
            expected["conversations"].append({"messages": messages, "text": text, "ids": reference,
                                              "mask": mask, "prompt_ids": prompt})
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump(expected, f, ensure_ascii=False, indent=1)
        print(name, vocab, "tokens;", sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
