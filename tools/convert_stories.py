#!/usr/bin/env python3
"""Converts the llama2.c stories260K checkpoint into the other formats tplm reads:

  OUT/stories260K.gguf   GGUF F32, "llama" vocabulary from tok512 (scores of tok512.bin),
                         context 512, rms eps 1e-5, rope base 10000, tied embeddings
  OUT/stories260K-hf/    LlamaForCausalLM config.json, model.safetensors (F32, Q/K rows
                         permuted to HF's rotate-half layout), tie_word_embeddings true,
                         tokenizer.model = tok512.model

usage: tools/convert_stories.py [--src DIR] OUT_DIR
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_lib as fl  # noqa: E402

DEFAULT_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                           "models", "stories260K")


def convert(src: str, out: str) -> list[dict]:
    ckpt = os.path.join(src, "stories260K.bin")
    tok_model = os.path.join(src, "tok512.model")
    tok_bin = os.path.join(src, "tok512.bin")
    for f in (ckpt, tok_model, tok_bin):
        if not os.path.exists(f):
            raise SystemExit(f"convert_stories: {f} is missing (get it with scripts/get_model.sh)")
    c, w = fl.read_llama2c(ckpt)
    c.rms_eps, c.rope_theta = 1e-5, 10000.0
    os.makedirs(out, exist_ok=True)
    vocab = fl.load_vocab(tok_model, tok_bin, c.vocab)
    gguf_path = os.path.join(out, "stories260K.gguf")
    hf_path = os.path.join(out, "stories260K-hf")
    fl.write_gguf(gguf_path, c, w, vocab, "F32", name="stories260K")
    fl.write_hf(hf_path, c, w, "F32", tok_model)
    fl.progress(f"convert_stories: wrote {gguf_path} and {hf_path}/")
    return [
        {"name": "stories260K.gguf", "path": gguf_path, "format": "gguf", "dtype": "F32", "shards": 1,
         "config": c.to_json(), "tokenizer": None, "qk_layout": "interleaved"},
        {"name": "stories260K-hf", "path": hf_path, "format": "hf", "dtype": "F32", "shards": 1,
         "config": c.to_json(), "tokenizer": os.path.join(hf_path, "tokenizer.model"),
         "qk_layout": "rotate_half"},
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--src", default=DEFAULT_SRC, help="folder with stories260K.bin, tok512.bin, tok512.model")
    a = p.parse_args()
    convert(a.src, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
