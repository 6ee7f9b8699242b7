#!/usr/bin/env python3
"""Records reference token ids for tests/model/test_tokenizer_refs.cpp.

Encodes a fixed list of strings with the Python `sentencepiece` package on
shared/models/stories260K/tok512.model and writes tests/data/tokenizers/tok512_refs.json.
The C++ tests compare tplm's llama2.c-style BPE (tok512.bin) and libsentencepiece
(tok512.model) against these ids.

The llama2.c BPE is not SentencePiece: it merges by piece score without
SentencePiece's normalizer, so a few strings legitimately encode differently.
Those are recorded with "llama2c_differs": true, the llama2.c ids (from a
straight Python port of run.c `encode` below) and the reason.

Second part: trains two tiny byte-level BPE tokenizers with the Python
`tokenizers` package (GPT-2 style ByteLevel pre-tokenizer, and a Llama-3 style
Split regex + ByteLevel) on a fixed corpus, saves their tokenizer.json under
tests/data/tokenizers/bytelevel_{gpt2,llama3}/ and the ids of the same strings
in tests/data/tokenizers/bytelevel_refs.json.

Third part: the pieces tokenizers' own pre-tokenizers make of the strings, for
several pre_tokenizer configurations (every Split behavior, ByteLevel with
add_prefix_space, steps after ByteLevel), in
tests/data/tokenizers/pre_tokenizer_refs.json.

Usage: tools/record_tokenizer_refs.py [--model tok512.model] [--bin tok512.bin] [--out FILE]
"""
import argparse
import json
import struct
import sys
from pathlib import Path

import sentencepiece

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "models" / "stories260K"

STRINGS = [
    "",
    "Once upon a time",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "a",
    " ",
    "Lily",
    "Tom and Lily went to the park. They saw a big, red ball.",
    "\"Yes,\" she said; 'no?' (maybe) [ok] {x} <y> a-b_c/d\\e",
    "0123456789 3.14 1,000,000 42%",
    "line one\nline two\n\nline four",
    "tab\tseparated\tvalues",
    "two  spaces   three    four",
    "  leading spaces",
    "trailing spaces  ",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber",
    "\u00c5ngstr\u00f6m \u00f1and\u00fa",
    "\u4f60\u597d\uff0c\u4e16\u754c",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "emoji \U0001F600 and \U0001F680!",
    "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439",
    "ALL CAPS SHOUTING",
    "mIxEd CaSe",
    "She said, \"I'm sorry, Lily. I didn't know what to do.\"",
    "\x01\x7f control bytes",
]


def read_llama2c(path):
    data = Path(path).read_bytes()
    pos = 4
    vocab, scores = [], []
    while pos < len(data):
        score, n = struct.unpack_from("<fi", data, pos)
        pos += 8
        vocab.append(data[pos:pos + n])
        scores.append(score)
        pos += n
    return vocab, scores


def llama2c_encode(vocab, scores, text):
    """run.c `encode` (karpathy/llama2.c), without BOS/EOS."""
    index = {}
    for i, p in enumerate(vocab):
        index.setdefault(p, i)
    if not text:
        return []
    ids = [index[b" "]]
    raw = text.encode("utf-8")
    i = 0
    while i < len(raw):
        n = 1
        while i + n < len(raw) and n < 4 and (raw[i + n] & 0xC0) == 0x80:
            n += 1
        cp = raw[i:i + n]
        if cp in index:
            ids.append(index[cp])
        else:
            ids.extend(b + 3 for b in cp)
        i += n
    while True:
        best, at = -1e10, -1
        for k in range(len(ids) - 1):
            m = index.get(vocab[ids[k]] + vocab[ids[k + 1]])
            if m is not None and scores[m] > best:
                best, at = scores[m], k
        if at < 0:
            return ids
        ids[at:at + 2] = [index[vocab[ids[at]] + vocab[ids[at + 1]]]]


def why_differs(text):
    if "  " in text or text.startswith(" ") or text.endswith(" "):
        return "SentencePiece's normalizer collapses/strips extra whitespace; llama2.c keeps every space"
    if "\t" in text or "\n" in text:
        return "SentencePiece normalizes whitespace characters; llama2.c encodes them verbatim"
    return "SentencePiece segments by unigram/BPE lattice over normalized text; llama2.c merges greedily by score"


LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def corpus():
    golden = ROOT.parent / "shared" / "golden" / "stories260K"
    texts = [json.loads(p.read_text())["text"] for p in sorted(golden.glob("*.json"))]
    return texts + STRINGS * 3 + ["It's 2024; they'll say we've done 1234 things.\n\n"] * 5


def record_byte_level(out_dir):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    import tokenizers
    cases = {}
    for name in ("gpt2", "llama3"):
        tok = Tokenizer(models.BPE())
        if name == "gpt2":
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        else:
            tok.pre_tokenizer = pre_tokenizers.Sequence([
                pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        tok.train_from_iterator(corpus(), trainer)
        folder = out_dir / f"bytelevel_{name}"
        folder.mkdir(parents=True, exist_ok=True)
        tok.save(str(folder / "tokenizer.json"))
        strings = STRINGS + ["a<|endoftext|>b", "<|endoftext|>"]
        cases[name] = [{"text": t, "ids": tok.encode(t).ids} for t in strings]
        for c in cases[name]:
            assert tok.decode(c["ids"], skip_special_tokens=True) == c["text"].replace("<|endoftext|>", "")
        print(f"bytelevel_{name}: {tok.get_vocab_size()} tokens, {len(strings)} strings", file=sys.stderr)
    refs = {
        "made_by": "tools/record_tokenizer_refs.py",
        "how": (f"Python tokenizers {tokenizers.__version__}: BPE trained (vocab 400, special "
                f"<|endoftext|>) on the golden stories260K texts and the test strings; ids from "
                f"Tokenizer.encode(text).ids (no BOS). gpt2: ByteLevel(use_regex=True); llama3: "
                f"Split(Llama 3 regex, isolated) then ByteLevel(use_regex=False)"),
        "tokenizers": cases,
    }
    (out_dir / "bytelevel_refs.json").write_text(json.dumps(refs, indent=1, ensure_ascii=False) + "\n")


# Pre-tokenizers as tokenizer.json spells them: every Split behavior, a literal
# String pattern, ByteLevel with add_prefix_space, and steps that run after
# ByteLevel on the byte alphabet (Falcon's digits).
PRE_TOKENIZERS = {
    "gpt2": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "gpt2_prefix_space": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                          "use_regex": True},
    "llama3": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
    "starcoder": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
    "falcon": {"type": "Sequence", "pretokenizers": [
        {"type": "Punctuation", "behavior": "Contiguous"},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        {"type": "Digits", "individual_digits": False},
        {"type": "Split", "pattern": {"Regex": "[0-9][0-9][0-9]"}, "behavior": "Isolated",
         "invert": False}]},
    "behaviors": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "[,;]"}, "behavior": "MergedWithPrevious", "invert": False},
        {"type": "Split", "pattern": {"Regex": "[(\\[]"}, "behavior": "MergedWithNext", "invert": False},
        {"type": "Split", "pattern": {"Regex": "-"}, "behavior": "Contiguous", "invert": False},
        {"type": "Split", "pattern": {"String": " and "}, "behavior": "Removed", "invert": False},
        {"type": "Punctuation", "behavior": "Isolated"},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": False}]},
}

PRE_STRINGS = STRINGS + [
    "ied 4 \u00bd months", "3333333 33.3", "\u00f2\u00b2 \u00bc\u00be", "a--b,,c;(d[[e",
    "x and y and z", "(start) end;", "--", ",a", "a(", "$5+3=8 <tag> `code` ^~|",
]


def record_pre_tokenizers(out_dir):
    """Pieces from tokenizers' own pre_tokenize_str, in the byte alphabet."""
    from tokenizers import Tokenizer
    import tokenizers
    configs = {}
    for name, pre in PRE_TOKENIZERS.items():
        tok = Tokenizer.from_str(json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {},
                                                                         "merges": []},
                                             "pre_tokenizer": pre}))
        cases = [{"text": t, "pieces": [p for p, _ in tok.pre_tokenizer.pre_tokenize_str(t)]}
                 for t in PRE_STRINGS]
        configs[name] = {"pre_tokenizer": pre, "cases": cases}
    refs = {
        "made_by": "tools/record_tokenizer_refs.py",
        "how": (f"Python tokenizers {tokenizers.__version__}: pre_tokenizer.pre_tokenize_str(text) "
                f"for each pre_tokenizer as tokenizer.json writes it"),
        "pre_tokenizers": configs,
    }
    (out_dir / "pre_tokenizer_refs.json").write_text(
        json.dumps(refs, indent=1, ensure_ascii=False) + "\n")
    print(f"pre_tokenizer_refs: {len(configs)} pre-tokenizers, {len(PRE_STRINGS)} strings",
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(SHARED / "tok512.model"))
    ap.add_argument("--bin", default=str(SHARED / "tok512.bin"))
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "tokenizers" / "tok512_refs.json"))
    args = ap.parse_args()
    sp = sentencepiece.SentencePieceProcessor(model_file=args.model)
    vocab, scores = read_llama2c(args.bin)
    cases = []
    for text in STRINGS:
        ids = sp.encode(text)
        case = {"text": text, "ids": ids, "pieces": sp.encode(text, out_type=str)}
        ours = llama2c_encode(vocab, scores, text)
        if ours != ids:
            case["llama2c_differs"] = True
            case["llama2c_ids"] = ours
            case["why"] = why_differs(text)
        cases.append(case)
        print(f"{text!r}: {len(ids)} ids{' (llama2.c differs)' if ours != ids else ''}", file=sys.stderr)
    out = {
        "made_by": "tools/record_tokenizer_refs.py",
        "how": (f"Python sentencepiece {sentencepiece.__version__} SentencePieceProcessor.encode(text) "
                f"on {Path(args.model).name} (no BOS/EOS); llama2c_ids from a Python port of "
                f"llama2.c run.c encode on {Path(args.bin).name}, only where they differ"),
        "model": Path(args.model).name,
        "cases": cases,
    }
    Path(args.out).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}: {len(cases)} strings", file=sys.stderr)
    record_byte_level(Path(args.out).parent)
    record_pre_tokenizers(Path(args.out).parent)


if __name__ == "__main__":
    main()
