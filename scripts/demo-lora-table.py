#!/usr/bin/env python3
"""Table of `rlhf demo` runs for docs/lora.md: per run, SFT and DPO held-out accuracy, their paired
differences to a reference run (prompt by prompt, 95% interval as Sources/Demo/PairedDifference.swift),
and per stage seconds, tokens/s and peak RSS from metrics.jsonl (run with `--set stagePeaks=1`).

usage: scripts/demo-lora-table.py REFERENCE_RUN RUN...
"""
import json
import math
import sys


def paired(a, b):
    n = len(a)
    gained = sum(1 for x, y in zip(a, b) if not x and y)
    lost = sum(1 for x, y in zip(a, b) if x and not y)
    mean = (gained - lost) / n
    var = (gained + lost - n * mean * mean) / (n - 1)
    half = 1.96 * math.sqrt(max(var, 0) / n)
    return f"{100 * mean:+.1f} ({100 * (mean - half):+.1f} to {100 * (mean + half):+.1f})"


def stage_seconds(run):
    seconds, in_table = {}, False
    for line in open(f"{run}/report.md"):
        if line.startswith("## Time"):
            in_table = True
        elif in_table and line.startswith("| ") and not line.startswith("| stage"):
            name, value = [c.strip() for c in line.strip().strip("|").split("|")]
            seconds[name] = float(value)
        elif in_table and line.startswith("##"):
            break
    return seconds


def stages(run):
    wall = stage_seconds(run)
    out = {}
    for line in open(f"{run}/metrics.jsonl"):
        m = json.loads(line)
        s = out.setdefault(m["stage"], {"seconds": wall.get(m["stage"], math.nan), "steps": 0, "rss": 0.0,
                                         "rss1": m.get("peak_rss_mb", 0.0), "tps": []})
        s["steps"] += 1
        s["rss"] = max(s["rss"], m.get("peak_rss_mb", 0.0))
        if "tokens_per_second" in m:
            s["tps"].append(m["tokens_per_second"])
    return out


def main():
    ref = json.load(open(f"{sys.argv[1]}/results.json"))["models"]
    print("| run | SFT | vs full SFT | DPO | DPO vs its SFT | DPO vs full DPO | SFT s | SFT MB | DPO s | DPO MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in sys.argv[1:]:
        models = json.load(open(f"{run}/results.json"))["models"]
        st = stages(run)
        sft, dpo = models["sft"], models.get("dpo")
        row = [run, f"{100 * sft['accuracy']:.1f}%", paired(ref["sft"]["correct"], sft["correct"])]
        if dpo:
            row += [f"{100 * dpo['accuracy']:.1f}%", paired(sft["correct"], dpo["correct"]),
                    paired(ref["dpo"]["correct"], dpo["correct"])]
        else:
            row += ["–"] * 3
        for name in ("sft", "dpo"):
            s = st.get(name)
            row += [f"{s['seconds']:.0f}", f"{s['rss']:.0f}"] if s else ["–", "–"]
        print("| " + " | ".join(row) + " |")
    for run in sys.argv[1:]:
        st = stages(run)
        for name, s in st.items():
            tps = sum(s["tps"]) / len(s["tps"]) if s["tps"] else float("nan")
            print(f"{run} {name}: {s['steps']} steps, {s['seconds']:.1f} s (stage wall, with evaluation), "
                  f"{tps:.0f} tokens/s, peak {s['rss1']:.0f} MB after step 1, {s['rss']:.0f} MB at the end")


main()
