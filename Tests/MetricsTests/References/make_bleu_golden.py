#!/usr/bin/env python3
"""Generates Tests/MetricsTests/BLEUGoldenValues.swift from sacreBLEU 2.6.0.

    pip install sacrebleu==2.6.0
    python3 Tests/MetricsTests/References/make_bleu_golden.py > Tests/MetricsTests/BLEUGoldenValues.swift

Each case is a small corpus (hypotheses, reference streams) and BLEU options; the script records
sacreBLEU's score, counts, totals, precisions, bp, lengths, signature and text line, plus
sentence-level BLEU of every segment (sentence_bleu defaults: effective order on).
"""
import sacrebleu
from sacrebleu.metrics import BLEU

assert sacrebleu.__version__ == "2.6.0", sacrebleu.__version__

HYPS = [
    "The dog bit the man.",
    "It wasn't surprising.",
    "The man had just bitten him.",
]
REFS = [
    ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
    ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
]

TRICKY_HYPS = [
    "",                                                   # empty hypothesis
    "zebra quantum",                                      # no match at all
    "He said &quot;hello&quot; &amp; left &lt;quickly&gt;.",  # 13a unescapes
    "The price was 1,000,000 dollars, or 3.5 million.",   # numbers with commas / dots
    "Über naïve café — déjà vu!",                         # unicode letters and dash
    "Hi.",                                                # very short
    "wait... what?!",                                     # repeated punctuation
    "ΣΊΣΥΦΟΣ ΟΔΟΣ",                                       # final sigma when lowercased
    "e\u0301cole 2019-2020 (draft) [v2] {x} a/b @home #tag",  # combining accent, brackets
    "tabs\tand  spaces   trailing   ",                   # whitespace runs, trailing blanks
    "<skipped> the cat sat on the mat",                   # 13a drops <skipped>
    "İstanbul ǅemal ẞtraße",                              # special lowercase mappings
]
TRICKY_REFS = [
    ["A reference for an empty line.", "cat dog", 'He said "hello" & left <quickly>.',
     "The price was 1,000,000 dollars, or 3.5 million .", "Uber naive café - déjà vu !", "Hello.",
     "wait... what?", "σίσυφος οδός", "\u00e9cole 2019 - 2020 (draft) [v2] {x} a / b @home #tag",
     "tabs and spaces trailing", "the cat sat on the mat", "istanbul ǆemal ßtraße"],
    ["Another, longer reference for the empty hypothesis line here.", "cat", "He said hello and left quickly.",
     "The price was one million dollars.", "Über naïve café — déjà vu!", "Hi there, how are you doing today?",
     "wait ... what ?!", "ΣΊΣΥΦΟΣ ΟΔΟΣ", "école 2019-2020 draft v2 x a/b home tag",
     "tabs\tand spaces", "a cat sat on the mat", "İstanbul ǅemal ẞtraße"],
]

# Only for the tokenizer table: regex corner cases (adjacent matches, digits around . , -).
EXTRA_TOKENIZER_LINES = [
    "a.,b 1.,2 ,.x 1-2-3 -1- a-b 3.14. 1,5, x.y.z ..a 9..9",
    "line one-\nline two\nend",
    "«quotes» „Anführung“ 【括号】 ¿Qué? ١٢٣.٤ ½ € $5 ©2020 ™",
    "&amp;quot; &lt;tag&gt; & amp; &QUOT;",
    "ΌΣΟΣ Σ ΑΣ. ΣA \u0301Σ",
    "\u00a0lead\u2003em\u3000ideo\u200bzero-width\x1ctrail\x85",
]

SHORT_HYPS = ["a", "a b", "the the the the", "x y z w"]
SHORT_REFS = [["a", "b a", "the cat", "x y z w v"]]

# Reference streams with a missing (None) entry: variable number of references (nrefs:var).
VAR_REFS = [
    ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
    ["The dog had bit the man.", None, "The man had bitten the dog."],
]

CASES = [
    ("readme_default", HYPS, REFS, {}),
    ("readme_none_tok", HYPS, REFS, {"tokenize": "none"}),
    ("readme_intl", HYPS, REFS, {"tokenize": "intl"}),
    ("readme_char", HYPS, REFS, {"tokenize": "char"}),
    ("readme_lowercase", HYPS, REFS, {"lowercase": True}),
    ("readme_floor", HYPS, REFS, {"smooth_method": "floor"}),
    ("readme_addk", HYPS, REFS, {"smooth_method": "add-k", "smooth_value": 2}),
    ("readme_none_smooth", HYPS, REFS, {"smooth_method": "none"}),
    ("readme_eff", HYPS, REFS, {"effective_order": True}),
    ("readme_one_ref", HYPS, REFS[1:], {}),
    ("readme_var_refs", HYPS, VAR_REFS, {}),
    ("tricky_13a", TRICKY_HYPS, TRICKY_REFS, {}),
    ("tricky_13a_lc", TRICKY_HYPS, TRICKY_REFS, {"lowercase": True}),
    ("tricky_intl", TRICKY_HYPS, TRICKY_REFS, {"tokenize": "intl"}),
    ("tricky_intl_lc", TRICKY_HYPS, TRICKY_REFS, {"tokenize": "intl", "lowercase": True}),
    ("tricky_none", TRICKY_HYPS, TRICKY_REFS, {"tokenize": "none"}),
    ("tricky_char_lc", TRICKY_HYPS, TRICKY_REFS, {"tokenize": "char", "lowercase": True}),
    ("tricky_floor_eff", TRICKY_HYPS, TRICKY_REFS, {"smooth_method": "floor", "smooth_value": 0.05,
                                                     "effective_order": True}),
    ("tricky_addk_eff", TRICKY_HYPS, TRICKY_REFS, {"smooth_method": "add-k", "effective_order": True}),
    ("short_exp", SHORT_HYPS, SHORT_REFS, {}),
    ("short_exp_eff", SHORT_HYPS, SHORT_REFS, {"effective_order": True}),
    ("short_none", SHORT_HYPS, SHORT_REFS, {"smooth_method": "none"}),
    ("short_floor", SHORT_HYPS, SHORT_REFS, {"smooth_method": "floor"}),
    ("short_addk", SHORT_HYPS, SHORT_REFS, {"smooth_method": "add-k"}),
    ("empty_hyps", ["", "", ""], REFS, {}),
    ("zero_matches", ["okay thanks", "nothing"], [["this is a cat", "at all"]], {}),
]


def swift_string(s):
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
        else:
            out.append("\\u{%X}" % ord(ch))
    return '"' + "".join(out) + '"'


def swift_optional_string(s):
    return "nil" if s is None else swift_string(s)


def swift_doubles(xs):
    return "[" + ", ".join(repr(float(x)) for x in xs) + "]"


def swift_options(kw):
    tok = kw.get("tokenize", "13a")
    tok_case = {"13a": ".v13a", "none": ".none", "intl": ".intl", "char": ".char"}[tok]
    method = kw.get("smooth_method", "exp")
    value = kw.get("smooth_value")
    smooth = f'BLEU.Smoothing(method: "{method}", value: {"nil" if value is None else repr(float(value))})!'
    return (f"BLEU(tokenizer: {tok_case}, lowercase: {str(kw.get('lowercase', False)).lower()}, "
            f"smoothing: {smooth}, effectiveOrder: {str(kw.get('effective_order', False)).lower()})")


def swift_score(s):
    return (f"GoldenScore(score: {s.score!r}, counts: {swift_doubles(s.counts)}, "
            f"totals: {swift_doubles(s.totals)}, precisions: {swift_doubles(s.precisions)}, "
            f"bp: {s.bp!r}, sysLen: {s.sys_len}, refLen: {s.ref_len})")


def main():
    print("// Generated by Tests/MetricsTests/References/make_bleu_golden.py with sacreBLEU "
          f"{sacrebleu.__version__}. Do not edit by hand.")
    print("@testable import Metrics")
    print()
    print("let bleuGoldenCases: [GoldenCase] = [")
    for name, hyps, refs, kw in CASES:
        metric = BLEU(**kw)
        corpus = metric.corpus_score(hyps, refs)
        signature = str(metric.get_signature())
        line = corpus.format(width=1, signature=signature)
        sentences = []
        for i, hyp in enumerate(hyps):
            seg_refs = [stream[i] for stream in refs if stream[i] is not None]
            sentences.append(sacrebleu.sentence_bleu(
                hyp, seg_refs, smooth_method=kw.get("smooth_method", "exp"),
                smooth_value=kw.get("smooth_value"), lowercase=kw.get("lowercase", False),
                tokenize=kw.get("tokenize", "13a")))
        print("    GoldenCase(")
        print(f"        name: {swift_string(name)},")
        print(f"        metric: {swift_options(kw)},")
        print("        hypotheses: [" + ", ".join(swift_string(h) for h in hyps) + "],")
        print("        references: [")
        for stream in refs:
            print("            [" + ", ".join(swift_optional_string(r) for r in stream) + "],")
        print("        ],")
        print(f"        corpus: {swift_score(corpus)},")
        print(f"        signature: {swift_string(signature)},")
        print(f"        line: {swift_string(line)},")
        print("        sentences: [")
        for s in sentences:
            print(f"            {swift_score(s)},")
        print("        ]")
        print("    ),")
    print("]")
    print()
    # Tokens joined by one space (after lower(), rstrip(), tokenizer and split(), as BLEU sees a segment).
    print("let bleuTokenizerGolden: [(tokenizer: BLEUTokenizer, lowercase: Bool, input: String, output: String)] = [")
    lines = TRICKY_HYPS + [r for stream in TRICKY_REFS for r in stream] + EXTRA_TOKENIZER_LINES
    for tok, case in (("13a", ".v13a"), ("intl", ".intl"), ("char", ".char")):
        for lowercase in (False, True):
            metric = BLEU(tokenize=tok, lowercase=lowercase)
            for line in lines:
                out = " ".join(metric._preprocess_segment(line).split())
                print(f"    ({case}, {str(lowercase).lower()}, {swift_string(line)}, {swift_string(out)}),")
    print("]")


if __name__ == "__main__":
    main()
