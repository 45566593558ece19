#!/usr/bin/env python3
"""Builds the small tokenizer.json fixtures under Tests/TokenizersTests/Fixtures/ with Hugging Face
`tokenizers` itself, one per family real models ship, and records what `tokenizers` gives for a set
of mixed test strings (ids with and without special tokens recognised, with the post-processor,
decoded text). The Swift tests compare against these exactly.

    /work/venv/bin/python scripts/make-tokenizer-fixtures.py     (tokenizers 0.23)

Families:
  gpt2         ByteLevel pre-tokenizer with its regex, ByteLevel decoder and post-processor
  llama3       Split(Llama 3 regex) + ByteLevel(use_regex=false), ignore_merges, <|begin_of_text|> template
  qwen2        NFC + Split(Qwen2 regex) + ByteLevel(use_regex=false), a non-special added token
  sentencepiece Prepend("▁") + Replace(" ", "▁") normalizer, byte_fallback with <0x00>…<0xFF>,
               <unk> fused, Replace+ByteFallback+Fuse+Strip decoder, <s> template (Llama 2 / TinyLlama)
  metaspace    Metaspace(prepend_scheme=first, split=true) pre-tokenizer, byte fallback, Metaspace decoder
  misc         NFKC+Lowercase+Strip+Replace(regex) normalizers, Whitespace/Punctuation/Digits pre-tokenizers,
               continuing-subword prefix and end-of-word suffix, [UNK], BertProcessing, added-token flags
  splits       Split with string and custom regex patterns and each behaviour, invert, WhitespaceSplit,
               Metaspace(always), NFD, lstrip/rstrip/single_word added tokens, RobertaProcessing

Regenerating rewrites the files identically except misc.json (and its expected ids): `tokenizers`'
trainer numbers continuing-subword tokens ("##t") in hash-map order, so its merges' tie-breaking
changes from run to run. Each run's files and expectations are consistent; the tests read both.
"""
import json
import pathlib
import random

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "TokenizersTests" / "Fixtures"

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


# Character-level trainers keep exactly this alphabet (`limit_alphabet` alone breaks ties between
# equally frequent characters in hash order, so the files would change from run to run); other
# characters are byte fallback or unknown, which the fixtures want to exercise.
ALPHABET = [chr(c) for c in range(0x21, 0x7F)] + list("éèàüöß▁")


def corpus():
    """Generated mixed text: prose, code, numbers, whitespace runs, accents, CJK, emoji."""
    rng = random.Random(1234)
    words = ("the quick brown fox jumps over lazy dog it's we'll they've I'm don't THE Quick "
             "tokenizer model train data value return print café naïve résumé über straße "
             "Привет мир 你好 世界 こんにちは 🤖 🎉 ½ Ⅻ").split()
    code = ["def f(x):\n    return x + 1\n", "for (int i = 0; i < 10; i++) {\n\ttotal += i;\n}\n",
            "if a == b and c != d:\n        pass\n", "x = [1, 2, 3]  # list\r\n"]
    lines = []
    for _ in range(3000):
        kind = rng.random()
        if kind < 0.6:
            line = " ".join(rng.choice(words) for _ in range(rng.randint(3, 14)))
            line += rng.choice([".", "!", "?", ",", ";", ""]) + rng.choice(["", " ", "  "])
        elif kind < 0.8:
            line = rng.choice(code)
        else:
            line = " ".join(str(rng.randint(0, 10 ** rng.randint(1, 7))) for _ in range(rng.randint(1, 6)))
            line += rng.choice(["", " kg", "%", "  \t"])
        lines.append(line)
    return lines


TEXTS = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "I'm here, you're there; we'll see. IT'S DON'T 'Sup 'LL",
    "  multiple   spaces\n\n\tand tabs   ",
    "def f(x):\n    return x + 1\n\n\n",
    "for (int i = 0; i < 10; i++) {\n\ttotal += i;\n}",
    "12345 678 9 3.14159 1,000,000 ½ Ⅻ ٣",
    "café naïve résumé über straße",
    "cafe\u0301 A\u030a \ufb01 \u2167",
    "Привет, мир! 你好，世界。 こんにちは",
    "emoji 🤖🎉 and 👨‍👩‍👧 family",
    "a\r\nb\r\n\r\nc \u00a0 d\u3000e\u0085f",
    "<|endoftext|>",
    "before<|endoftext|>after",
    "<s>Hello</s> <unk> [CLS] x [SEP]",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
    "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n",
    "see [NOTE] here and[NOTE]there",
    "tool <tool> x<tool>y  <tool>  z",
    "MASK: a <mask> b <mask>c",
    "   leading and trailing   ",
    "",
    " ",
    "\n",
    "x",
    "'s 'S 'ſ '\u2019",
    "tab\tseparated\tvalues\t\t",
    "URL https://example.com/path?q=1&r=2#frag",
    "mixed123abc456 def789",
    "ÀÉÎÕÜ àéîõü ÇÑ",
    "long" + "o" * 300 + "ng",
    "日本語のテキストと English の混在 123",
]


def train_byte_level(pre_tokenizer, normalizer, vocab_size, specials, ignore_merges=False):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    return tok


def gpt2():
    tok = train_byte_level(pre_tokenizers.ByteLevel(add_prefix_space=False), None, 700, ["<|endoftext|>"])
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def llama3():
    pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    tok = train_byte_level(pre, None, 900, specials, ignore_merges=True)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)]),
    ])
    return tok


def qwen2():
    pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok = train_byte_level(pre, normalizers.NFC(), 800, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_tokens([AddedToken("[NOTE]", special=False, normalized=True)])
    return tok


def byte_fallback_model(trained, unk="<unk>", specials=("<unk>", "<s>", "</s>")):
    """Llama 2's layout: specials, then <0x00>…<0xFF>, then the trained tokens and merges."""
    data = json.loads(trained.to_str())
    vocab = {s: k for k, s in enumerate(specials)}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for token, _ in sorted(data["model"]["vocab"].items(), key=lambda kv: kv[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in data["model"]["merges"]]
    return models.BPE(vocab=vocab, merges=merges, unk_token=unk, fuse_unk=True, byte_fallback=True)


def sentencepiece():
    normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer_tok.normalizer = normalizer
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<unk>", "<s>", "</s>"], initial_alphabet=ALPHABET,
                                  limit_alphabet=len(ALPHABET),
                                  show_progress=False)
    trainer_tok.train_from_iterator(corpus(), trainer)
    tok = Tokenizer(byte_fallback_model(trainer_tok))
    tok.normalizer = normalizer
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens([AddedToken("<unk>", special=True, normalized=False),
                            AddedToken("<s>", special=True, normalized=False),
                            AddedToken("</s>", special=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    return tok


def metaspace():
    pre = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer_tok.pre_tokenizer = pre
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>", "<s>", "</s>"], initial_alphabet=ALPHABET,
                                  limit_alphabet=len(ALPHABET),
                                  show_progress=False)
    trainer_tok.train_from_iterator(corpus(), trainer)
    tok = Tokenizer(byte_fallback_model(trainer_tok))
    tok.pre_tokenizer = pre
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(replacement="▁", prepend_scheme="first")])
    tok.add_special_tokens([AddedToken("<unk>", special=True, normalized=False),
                            AddedToken("<s>", special=True, normalized=False),
                            AddedToken("</s>", special=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> $B </s>",
                                                       special_tokens=[("<s>", 1), ("</s>", 2)])
    return tok


def misc():
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase(), normalizers.Strip(),
                                           normalizers.Replace(Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation(),
                                                 pre_tokenizers.Digits(individual_digits=True)])
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                  continuing_subword_prefix="##", end_of_word_suffix="</w>",
                                  initial_alphabet=ALPHABET, limit_alphabet=len(ALPHABET),
                                  show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    tok.add_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, single_word=False, normalized=False, special=False)])
    tok.add_tokens([AddedToken("[note]", normalized=True, special=False)])
    return tok


def splits():
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Replace("\t", "    ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(" ", behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"[0-9]+|[,.;:!?]"), behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"\p{Lu}"), behavior="contiguous", invert=True),
        pre_tokenizers.Split("ing", behavior="merged_with_previous", invert=True),
        pre_tokenizers.Split(Regex(r"\s+"), behavior="removed"),
        pre_tokenizers.Punctuation(behavior="merged_with_next"),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False),
    ])
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=["<unk>", "<s>", "</s>"], initial_alphabet=ALPHABET,
                                  limit_alphabet=len(ALPHABET),
                                  show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="▁", prepend_scheme="always"),
                                     decoders.Replace(Regex("x{2,}"), "X")])
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    tok.add_tokens([AddedToken("<tool>", lstrip=True, rstrip=True, single_word=True, normalized=False, special=False),
                    AddedToken("and", single_word=True, normalized=True, special=False)])
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, special=True, normalized=False)])
    return tok


def utf8_offsets(text, offsets):
    """Character offsets (Python str) → UTF-8 byte offsets."""
    starts = [0]
    for ch in text:
        starts.append(starts[-1] + len(ch.encode("utf-8")))
    return [[starts[a], starts[b]] for a, b in offsets]


def expectations(tok):
    cases = []
    for text in TEXTS:
        tok.encode_special_tokens = False
        plain = tok.encode(text, add_special_tokens=False)
        templated = tok.encode(text, add_special_tokens=True)
        tok.encode_special_tokens = True
        split_special = tok.encode(text, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        cases.append({
            "text": text,
            "ids": plain.ids,
            "ids_specials_as_text": split_special,
            "ids_with_template": templated.ids,
            "offsets": utf8_offsets(text, plain.offsets),
            "decoded": tok.decode(plain.ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(plain.ids, skip_special_tokens=True),
        })
    pair = tok.encode("first part", "second part", add_special_tokens=True).ids
    return {"cases": cases, "pair": {"text": "first part", "pair": "second part", "ids": pair}}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {"tokenizers_version": tokenizers.__version__, "families": {}}
    for name, build in [("gpt2", gpt2), ("llama3", llama3), ("qwen2", qwen2), ("sentencepiece", sentencepiece),
                        ("metaspace", metaspace), ("misc", misc), ("splits", splits)]:
        tok = build()
        path = OUT / f"{name}.json"
        tok.save(str(path), pretty=False)
        tok = Tokenizer.from_file(str(path))  # what the file says, not what we built
        expected["families"][name] = expectations(tok)
        print(f"{name}: vocab {tok.get_vocab_size()}, {path.stat().st_size} bytes")
    # One case per line: small, and diffs stay readable.
    lines = ["{", f' "tokenizers_version": {json.dumps(expected["tokenizers_version"])},', ' "families": {']
    families = list(expected["families"].items())
    for k, (name, data) in enumerate(families):
        lines.append(f"  {json.dumps(name)}: {{")
        lines.append('   "pair": ' + json.dumps(data["pair"], ensure_ascii=False, separators=(",", ":")) + ",")
        lines.append('   "cases": [')
        cases = data["cases"]
        for j, case in enumerate(cases):
            lines.append("    " + json.dumps(case, ensure_ascii=False, separators=(",", ":")) + ("," if j + 1 < len(cases) else ""))
        lines.append("   ]")
        lines.append("  }" + ("," if k + 1 < len(families) else ""))
    lines += [" }", "}"]
    (OUT / "expected.json").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
