#!/usr/bin/env python3
"""`rlhf tokenizer chat` against transformers' ids and masks (the expected.json files written by
scripts/make-chat-fixtures.py). Needs only the Python standard library and a built `rlhf`:

    python3 scripts/check-tokenizer-chat.py [PATH_TO_RLHF]      # default .build/debug/rlhf

Also checks that a template's raise_exception ends the command with its message and a non-zero
exit status.
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
RLHF = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "debug", "rlhf")
FIXTURES = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "chat")
failures = 0

for case in sorted(os.listdir(FIXTURES)):
    directory = os.path.join(FIXTURES, case)
    expected = json.load(open(os.path.join(directory, "expected.json")))
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for c in expected["conversations"]:
            f.write(json.dumps({"messages": c["messages"]}) + "\n")
    for generation_prompt in (False, True):
        args = [RLHF, "tokenizer", "chat", "--tokenizer", directory, "--input", f.name]
        if generation_prompt:
            # The prompt of each conversation's last assistant turn.
            with open(f.name, "w") as g:
                for c in expected["conversations"]:
                    last = max(i for i, m in enumerate(c["messages"]) if m["role"] == "assistant")
                    g.write(json.dumps({"messages": c["messages"][:last]}) + "\n")
            args.append("--add-generation-prompt")
        lines = subprocess.run(args, check=True, capture_output=True, text=True).stdout.splitlines()
        for c, line in zip(expected["conversations"], lines, strict=True):
            got = json.loads(line)
            want = (c["prompt_ids"], None) if generation_prompt else (c["ids"], c["mask"])
            ok = got["ids"] == want[0] and (want[1] is None or got["mask"] == want[1])
            ok = ok and (generation_prompt or got["text"] == c["text"])
            if not ok:
                failures += 1
                print(f"FAIL {case} (generation prompt {generation_prompt}): {got} != {want}")
    os.unlink(f.name)
    print(f"{case}: {len(expected['conversations'])} conversations match transformers")

# raise_exception: a template that refuses a role.
with tempfile.TemporaryDirectory() as d:
    for name in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(FIXTURES, "qwen2", name), "rb") as src, open(os.path.join(d, name), "wb") as dst:
            dst.write(src.read())
    with open(os.path.join(d, "chat_template.jinja"), "w") as t:
        t.write("{% for m in messages %}{% if m['role'] == 'system' %}"
                "{{ raise_exception('System role not supported') }}{% endif %}{{ m['content'] }}{% endfor %}")
    with open(os.path.join(d, "in.jsonl"), "w") as g:
        g.write(json.dumps({"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]}) + "\n")
    result = subprocess.run([RLHF, "tokenizer", "chat", "--tokenizer", d, "--input", os.path.join(d, "in.jsonl")],
                            capture_output=True, text=True)
    if result.returncode == 0 or "System role not supported" not in result.stderr:
        failures += 1
        print("FAIL raise_exception:", result.returncode, result.stderr)
    else:
        print("raise_exception: exit", result.returncode, "-", result.stderr.strip().splitlines()[-1])
sys.exit(1 if failures else 0)
