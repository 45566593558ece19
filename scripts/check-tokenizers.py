#!/usr/bin/env python3
"""Developer check: does swift-rlhf encode and decode like Hugging Face `tokenizers` for a
tokenizer.json you have (a downloaded model's, say)? Not a unit test; needs `tokenizers` installed.

    scripts/check-tokenizers.py path/to/tokenizer.json [text files…]
    RLHF_BIN=.build/release/rlhf scripts/check-tokenizers.py model-dir/

For each text (built-in mixed strings, then each file, whole and line by line) it runs
`rlhf tokenizer encode` with and without --allow-special and compares the ids with
`tokenizers`' encode(add_special_tokens=False) with special tokens recognised or split
(`encode_special_tokens`), then `rlhf tokenizer decode` of those ids with `tokenizers`' decode.
Prints each difference (first differing token, both sides' tokens around it) and exits 1 if any.
"""
import os
import pathlib
import subprocess
import sys
import tempfile

from tokenizers import Tokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent

TEXTS = [
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "I'm here, you're there; we'll see. IT'S DON'T 'Sup",
    "  multiple   spaces\n\n\tand tabs   \n",
    "def f(x):\n    return x + 1\n\n\nfor (int i = 0; i < 10; i++) {\n\ttotal += i;\n}",
    "12345 678 9 3.14159 1,000,000 ½ Ⅻ ٣",
    "café naïve résumé über straße cafe\u0301 \ufb01",
    "Привет, мир! 你好，世界。 こんにちは 日本語のテキスト",
    "emoji 🤖🎉 and 👨‍👩‍👧 family",
    "a\r\nb\r\n\r\nc \u00a0 d\u3000e",
    "<s>Hello</s> <|endoftext|> <|im_start|>user\nhi<|im_end|> <|begin_of_text|><|eot_id|>",
    "   leading and trailing   ",
    "x",
]


def rlhf_binary():
    if os.environ.get("RLHF_BIN"):
        return [os.environ["RLHF_BIN"]]
    for candidate in (ROOT / ".build/release/rlhf", ROOT / ".build/debug/rlhf"):
        if candidate.exists():
            return [str(candidate)]
    return ["swift", "run", "--package-path", str(ROOT), "rlhf"]


def run(args, data):
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
        name = f.name
    try:
        out = subprocess.run(rlhf_binary() + args + ["--input", name], capture_output=True, check=True)
        return out.stdout
    finally:
        os.unlink(name)


def describe(tok, ids, at):
    window = ids[max(0, at - 3): at + 4]
    return [tok.id_to_token(i) for i in window]


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    location = pathlib.Path(sys.argv[1])
    path = location / "tokenizer.json" if location.is_dir() else location
    tok = Tokenizer.from_file(str(path))
    texts = [("built-in", t) for t in TEXTS]
    for name in sys.argv[2:]:
        content = pathlib.Path(name).read_text(encoding="utf-8")
        texts.append((name, content))
        texts += [(f"{name}:{k + 1}", line) for k, line in enumerate(content.splitlines(keepends=True)[:2000])]
    failures = 0
    for label, text in texts:
        for allow in (True, False):
            tok.encode_special_tokens = not allow
            theirs = tok.encode(text, add_special_tokens=False).ids
            args = ["tokenizer", "encode", "--tokenizer", str(location)] + (["--allow-special"] if allow else [])
            ours = [int(x) for x in run(args, text.encode("utf-8")).split()]
            if ours != theirs:
                failures += 1
                at = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
                print(f"DIFF ids ({label}, specials {'recognised' if allow else 'as text'}) at token {at}:")
                print(f"  tokenizers: {describe(tok, theirs, at)}")
                print(f"  swift-rlhf: {describe(tok, ours, at)}")
        tok.encode_special_tokens = False
        ids = tok.encode(text, add_special_tokens=False).ids
        decoded = run(["tokenizer", "decode", "--tokenizer", str(location)], " ".join(map(str, ids)).encode())
        if decoded.decode("utf-8", errors="replace") != tok.decode(ids, skip_special_tokens=False):
            failures += 1
            print(f"DIFF decode ({label}): {decoded[:80]!r} vs {tok.decode(ids)[:80]!r}")
    print(f"{len(texts)} texts, {failures} differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
