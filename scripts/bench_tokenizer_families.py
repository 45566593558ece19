"""Part of scripts/bench-tokenizer: trains a Llama-3-style and a SentencePiece-style tokenizer.json
(vocab 8192) on the bench corpus with Hugging Face `tokenizers`, times `tokenizers` encoding the
corpus on one thread, and writes their ids for the identical-ids check.

    python bench_tokenizer_families.py CORPUS WORKDIR   → WORKDIR/{llama3,sentencepiece}.json,
                                                          WORKDIR/ids-hf-<family>.txt, prints MB/s
"""
import json
import os
import pathlib
import sys
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def llama3(corpus):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=8192, min_frequency=2, special_tokens=["<|begin_of_text|>", "<|eot_id|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train([corpus], trainer)
    return tok


def sentencepiece(corpus):
    normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    # Train on words (Metaspace split), then use the Llama 2 layout: whole lines as pieces.
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer_tok.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=8192 - 256, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    trainer_tok.train([corpus], trainer)
    data = json.loads(trainer_tok.to_str())
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for token, _ in sorted(data["model"]["vocab"].items(), key=lambda kv: kv[1]):
        vocab.setdefault(token, len(vocab))
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in data["model"]["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizer
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    return tok


def main():
    corpus, work = sys.argv[1], pathlib.Path(sys.argv[2])
    text = open(corpus, encoding="utf-8", newline="").read()
    # Lines end at "\n" only (str.splitlines also cuts at \r, \x85, U+2028, …), as on the Swift side.
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    mb = len(text.encode()) / 1e6
    for name, build in [("llama3", llama3), ("sentencepiece", sentencepiece)]:
        path = work / f"{name}.json"
        if not path.exists():
            build(corpus).save(str(path))
        tok = Tokenizer.from_file(str(path))
        best = float("inf")
        for _ in range(2):
            t = time.process_time()
            # One call per line: the SentencePiece layout makes a line one piece, as in real use.
            ids = [i for line in lines for i in tok.encode(line, add_special_tokens=False).ids]
            best = min(best, time.process_time() - t)
        (work / f"ids-hf-{name}.txt").write_text(" ".join(map(str, ids)))
        print(f"{name} tokenizers_cpu_mb_per_s {mb / best:.2f} tokens {len(ids)}")


if __name__ == "__main__":
    main()
