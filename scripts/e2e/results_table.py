#!/usr/bin/env python3
"""Prints the markdown table of docs/results.md from what scripts/e2e/run-e2e-table left in runs/e2e/."""
import json
import os
import re
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "runs/e2e"
NAMES = {"lora": "LoRA r=4 on q,v (MergedLinear)", "dora": "DoRA r=4 on c_attn", "edora": "EDoRA r=4 on c_attn",
         "full": "full fine-tuning"}


def load(name):
    path = os.path.join(OUT, name)
    return json.load(open(path)) if os.path.exists(path) else None


def lora4j_row(m):
    log = open(os.path.join(OUT, f"lora4j-{m}.log")).read()
    trainable = re.search(r"trainable params: ([\d,]+)", log)
    params = int(trainable.group(1).replace(",", "")) if trainable else None
    if m == "full":
        params = 16090880
    ev, sc = load(f"lora4j-{m}.eval.json"), load(f"lora4j-{m}.score.json")
    seconds = float(re.search(r"done: \d+ steps in (\d+) s", log).group(1))
    return params, ev["loss"], sc, seconds


def main():
    print("| method | framework | trainable params | valid loss | BLEU | NIST | ROUGE-L | CIDEr | training + validation wall time |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for m in ("lora", "dora", "edora", "full"):
        if load(f"lora4j-{m}.eval.json") is None:
            continue
        params, loss, sc, seconds = lora4j_row(m)
        print(f"| {NAMES[m]} | lora4j | {params:,} | {loss:.4f} | {100 * sc['bleu']:.2f} | {sc['nist']:.3f} | "
              f"{100 * sc['rouge_l']:.2f} | {sc['cider']:.3f} | {seconds:.0f} s |")
        t, ts = load(f"pytorch-{m}.json"), load(f"pytorch-{m}.score.json")
        if t and ts:
            print(f"| | PyTorch | {t['trainable_params']:,} | {t['valid_loss']:.4f} | {100 * ts['bleu']:.2f} | {ts['nist']:.3f} | "
                  f"{100 * ts['rouge_l']:.2f} | {ts['cider']:.3f} | {t['train_seconds']:.0f} s |")


if __name__ == "__main__":
    main()
