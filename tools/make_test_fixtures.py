#!/usr/bin/env python3
"""Makes every fixture model the tests use under OUT_DIR (CTest's fixtures.make
runs it before the tests), and OUT_DIR/manifest.json listing them.

  stories260K.gguf, stories260K-hf/   the real stories260K, converted (convert_stories.py)
  gqa.{F32,F16,BF16,Q8_0,Q4_0}.gguf    random, 8 heads / 4 kv heads, untied
  gqa-hf-F32/, gqa-hf-BF16/ (2 shards), gqa.bin (llama2.c)   the same weights
  mha.F32.gguf, mha.Q8_0.gguf, mha-hf-F32/, mha.bin            random, 4 heads, tied
  qwen2.F32.gguf, qwen2.Q4_0.gguf, qwen2-hf-F32/              random, 4 heads / 2 kv, q/k/v bias
  kq.{Q4_K,Q5_K,Q6_K}.gguf            random, 8 heads x 128 / 4 kv, FFN 1024: every split
                                       width at tp 1, 2, 4 is whole 256-element super-blocks
  chat.F32.gguf, chat-hf-F32/         random, 4 heads / 2 kv, with a chat template
                                       (tests/data/chat/fixture_template.jinja)

Up to date outputs (manifest newer than the tools and the source model) are
kept, so repeated ctest runs cost nothing. See tools/README.md.
"""
import glob
import json
import os
import shutil
import sys
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import fixture_lib as fl  # noqa: E402
import convert_stories  # noqa: E402
import gen_fixture  # noqa: E402

STORIES = os.environ.get("TPLM_STORIES_DIR",
                         os.path.join(TOOLS, "..", "..", "shared", "models", "stories260K"))

# name -> (config, seed, formats). Head dims are 32 and every split width is a
# multiple of 32, so Q8_0 / Q4_0 tensors split on block boundaries at tp 1, 2, 4.
RANDOM = {
    "gqa": (fl.Config(dim=256, ffn=512, layers=2, heads=8, kv_heads=4, vocab=512, context=256),
            1, "gguf:F32,gguf:F16,gguf:BF16,gguf:Q8_0,gguf:Q4_0,hf:F32,hf:BF16:2,llama2c:F32"),
    "mha": (fl.Config(dim=128, ffn=256, layers=2, heads=4, kv_heads=4, vocab=512, context=256,
                      tied=True),
            2, "gguf:F32,gguf:Q8_0,hf:F32,llama2c:F32"),
    "qwen2": (fl.Config(dim=128, ffn=256, layers=2, heads=4, kv_heads=2, vocab=512, context=256,
                        qkv_bias=True, arch="qwen2", rope_theta=1000000.0, rms_eps=1e-6),
              3, "gguf:F32,gguf:Q4_0,hf:F32"),
    # A vocabulary that no tp > 1 divides: the last rank's LM head slice is
    # short and the logits gather pads it (plan.vocab_per_rank).
    "oddvocab": (fl.Config(dim=128, ffn=256, layers=1, heads=4, kv_heads=2, vocab=515,
                           context=64),
                 4, "gguf:F32,gguf:Q8_0"),
    # K-quants: attn_output's input (heads x 128) and ffn_down's (1024) cut into
    # whole 256-element super-blocks at tp 1, 2, 4; the LM head is Q6_K in the
    # Q4_K and Q5_K files, as llama.cpp's quantizer writes it.
    "kq": (fl.Config(dim=1024, ffn=1024, layers=2, heads=8, kv_heads=4, vocab=512, context=128),
           5, "gguf:Q4_K,gguf:Q5_K,gguf:Q6_K"),
    # A chat template (CHAT_TEMPLATES) in the GGUF and in the HF folder.
    "chat": (fl.Config(dim=128, ffn=256, layers=2, heads=4, kv_heads=2, vocab=512, context=256),
             6, "gguf:F32,hf:F32"),
}


# Models `tplm chat` can talk to: name in RANDOM -> its chat template file.
CHAT_TEMPLATE = os.path.join(TOOLS, "..", "tests", "data", "chat", "fixture_template.jinja")
CHAT_TEMPLATES = {"chat": CHAT_TEMPLATE}


def up_to_date(out: str) -> bool:
    manifest = os.path.join(out, "manifest.json")
    if not os.path.exists(manifest):
        return False
    stamp = os.path.getmtime(manifest)
    sources = glob.glob(os.path.join(TOOLS, "*.py")) + glob.glob(os.path.join(STORIES, "*")) + \
        [CHAT_TEMPLATE]
    if any(os.path.getmtime(s) > stamp for s in sources):
        return False
    try:
        with open(manifest) as f:
            entries = json.load(f)["fixtures"]
    except (ValueError, KeyError):
        return False
    return all(os.path.exists(os.path.join(out, e["path"])) for e in entries)


def rel(out: str, p):
    return None if p is None else os.path.relpath(p, out)


def make(out: str) -> list[dict]:
    entries = []
    for e in convert_stories.convert(STORIES, out):
        e.update(path=rel(out, e["path"]), tokenizer=rel(out, e["tokenizer"]), kind="stories")
        entries.append(e)
    tok_bin = os.path.join(out, "tok512.bin")
    shutil.copyfile(os.path.join(STORIES, "tok512.bin"), tok_bin)
    for name, (c, seed, formats) in RANDOM.items():
        chat_template = None
        if name in CHAT_TEMPLATES:
            with open(CHAT_TEMPLATES[name], encoding="utf-8") as f:
                chat_template = f.read()
        w = fl.random_weights(c, seed)
        written = gen_fixture.write_all(os.path.join(out, name), c, w,
                                        gen_fixture.parse_formats(formats), STORIES, chat_template)
        for e in written:
            tok = tok_bin if e["format"] == "llama2c" else e["tokenizer"]
            qk = "rotate_half" if e["format"] == "hf" or (e["format"] == "gguf" and c.arch == "qwen2") \
                else "interleaved"
            entries.append({"name": os.path.basename(e["path"]), "path": rel(out, e["path"]),
                            "format": e["format"], "dtype": e["dtype"], "shards": e["shards"],
                            "config": c.to_json(), "tokenizer": rel(out, tok), "qk_layout": qk,
                            "seed": seed, "kind": "random"})
    return entries


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: make_test_fixtures.py OUT_DIR", file=sys.stderr)
        return 2
    out = os.path.abspath(sys.argv[1])
    os.makedirs(out, exist_ok=True)
    if up_to_date(out):
        fl.progress(f"make_test_fixtures: {out} is up to date")
        return 0
    t0 = time.time()
    entries = make(out)
    tmp = os.path.join(out, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"version": 1, "generator": "tools/make_test_fixtures.py", "fixtures": entries},
                  f, indent=1)
    os.replace(tmp, os.path.join(out, "manifest.json"))
    fl.progress(f"make_test_fixtures: {len(entries)} fixtures in {out} ({time.time() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
