#!/usr/bin/env python3
"""Developer check: does our Swift interpreter render a model's own chat template exactly as transformers does?

    /work/venv/bin/python scripts/check-chat-templates.py MODEL_DIR_OR_TEMPLATE [...]

Each argument is a model directory (tokenizer_config.json and/or chat_template.jinja, loaded with
AutoTokenizer when it can be, so apply_chat_template itself renders), a tokenizer_config.json, or a
.jinja file. The script renders the standard conversations of scripts/make-template-fixtures.py (plus
tool and reasoning ones) with transformers, writes them as cases, and runs the Swift LiveCheckTests on
them (`RLHF_ONLY=Templates swift test --filter LiveCheckTests`). Nothing is committed or downloaded.
"""
import importlib.util
import json
import re
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("fixtures", ROOT / "scripts" / "make-template-fixtures.py")
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)

SPECIAL_NAMES = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]


def load(path):
    """(template text, special tokens, tokenizer or None) the way transformers would see them."""
    path = pathlib.Path(path)
    directory = path if path.is_dir() else path.parent
    if path.suffix == ".jinja":
        return path.read_text(encoding="utf-8"), {}, None
    tokenizer = None
    if path.is_dir():
        try:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
        except Exception as error:  # no vocabulary beside the config: render the template directly
            print(f"note: {directory}: AutoTokenizer failed ({type(error).__name__}); rendering the template directly")
    config_path = directory / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.exists() else {}
    tokens = {}
    for name in SPECIAL_NAMES:
        value = config.get(name)
        if isinstance(value, dict):
            value = value.get("content")
        if isinstance(value, str):
            tokens[name] = value
    if tokenizer is not None:
        tokens = {k: v for k, v in tokenizer.special_tokens_map.items() if isinstance(v, str)}
    jinja = directory / "chat_template.jinja"
    if jinja.exists():
        return jinja.read_text(encoding="utf-8"), tokens, tokenizer
    template = config.get("chat_template")
    if isinstance(template, list):
        named = {entry["name"]: entry["template"] for entry in template}
        template = named.get("default") or (next(iter(named.values())) if len(named) == 1 else None)
    if not isinstance(template, str):
        sys.exit(f"{path}: no chat template found")
    return template, tokens, tokenizer


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    import datetime as real_datetime

    from transformers.utils import chat_template_utils

    class FixedDatetime(real_datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(*fixtures.NOW)

    chat_template_utils.datetime = FixedDatetime
    conversations = dict(fixtures.COMMON)
    conversations.update({"reasoning": fixtures.REASONING, "parts": fixtures.PARTS})
    templates, cases = {}, []
    for argument in sys.argv[1:]:
        template, tokens, tokenizer = load(argument)
        name = str(argument)
        templates[name] = template
        runs = [(key, messages, None) for key, messages in conversations.items()]
        runs.append(("tools", fixtures.TOOL_CONVERSATION, fixtures.TOOLS))
        for conversation, messages, tools in runs:
            for add_generation_prompt in (False, True):
                case = {
                    "name": f"{name}/{conversation}/{'prompt' if add_generation_prompt else 'plain'}",
                    "template": name, "messages": messages, "add_generation_prompt": add_generation_prompt,
                    "special_tokens": tokens, "extra": {},
                }
                if tools is not None:
                    case["tools"] = tools
                try:
                    if tokenizer is not None:
                        text = tokenizer.apply_chat_template(
                            messages, tools=tools, chat_template=template, tokenize=False,
                            add_generation_prompt=add_generation_prompt)
                    else:
                        rendered, _ = chat_template_utils.render_jinja_template(
                            conversations=[messages], tools=tools, chat_template=template,
                            add_generation_prompt=add_generation_prompt, **tokens)
                        text = rendered[0]
                    case["expected"] = text
                    if re.search(r"\{\%-?\s*generation\s*-?\%\}", template):
                        _, indices = chat_template_utils.render_jinja_template(
                            conversations=[messages], tools=tools, chat_template=template,
                            add_generation_prompt=add_generation_prompt, return_assistant_tokens_mask=True, **tokens)
                        case["generation_spans"] = [
                            [len(text[:start].encode()), len(text[:end].encode())] for start, end in indices[0]]
                except Exception as error:
                    case["error"] = {"type": type(error).__name__, "message": str(error)}
                cases.append(case)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as handle:
        json.dump({"now": fixtures.NOW, "templates": templates, "cases": cases}, handle, ensure_ascii=False)
    print(f"{len(cases)} cases from {len(templates)} template(s) -> {handle.name}")
    environment = dict(os.environ, RLHF_ONLY="Templates", TEMPLATES_CHECK_FILE=handle.name)
    result = subprocess.run(["swift", "test", "--filter", "LiveCheckTests"], cwd=ROOT, env=environment,
                            capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() + result.stderr.splitlines()
             if "Issue recorded" in line or "Expectation failed" in line or "first difference" in line
             or "Test run" in line or "error:" in line]
    print("\n".join(lines[-60:]))
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
