#!/usr/bin/env python3
"""Writes a Llama-family model with random weights of any shape, in every
format and dtype tplm reads, all holding the SAME weights (quantized files
hold the quantization of the same f32 values).

  tools/gen_fixture.py OUT --dim 256 --ffn 512 --layers 2 --heads 8 --kv-heads 4 \
      --vocab 512 --context 256 --formats gguf:F32,gguf:Q8_0,hf:F32,llama2c:F32

OUT is a path stem: gguf:DT -> OUT.DT.gguf, hf:DT -> OUT-hf-DT/ (hf:DT:N for N
shards), llama2c:F32 -> OUT.bin. See tools/README.md.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_lib as fl  # noqa: E402

DEFAULT_TOK_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                               "models", "stories260K")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="output path stem (folders are created)")
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--ffn", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--kv-heads", type=int, default=None, help="default: --heads")
    p.add_argument("--vocab", type=int, default=512)
    p.add_argument("--context", type=int, default=256)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--tied", dest="tied", action="store_true", help="LM head = token embedding")
    g.add_argument("--untied", dest="tied", action="store_false", help="separate output.weight (default)")
    p.set_defaults(tied=False)
    p.add_argument("--qkv-bias", action="store_true", help="q/k/v biases")
    p.add_argument("--arch", choices=["llama", "qwen2"], default="llama",
                   help="qwen2 implies --qkv-bias")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--rms-eps", type=float, default=1e-5)
    p.add_argument("--formats", default="gguf:F32",
                   help="comma list of gguf:DT (F32 F16 BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K), hf:DT[:SHARDS] "
                        "(F32 F16 BF16), llama2c:F32")
    p.add_argument("--fast", action="store_true",
                   help="benchmark models: uniform weights drawn in parallel and streamed to one "
                        "GGUF (gguf:F32, gguf:F16 or gguf:BF16 only; see fixture_stream.py)")
    p.add_argument("--chat-template", metavar="FILE",
                   help="a Jinja chat template: GGUF tokenizer.chat_template, HF "
                        "tokenizer_config.json chat_template")
    p.add_argument("--tokenizer-dir", default=os.environ.get("TPLM_TOKENIZER_DIR", DEFAULT_TOK_DIR),
                   help="folder with tok512.model and tok512.bin")
    return p.parse_args(argv)


def config_from_args(a) -> fl.Config:
    qkv_bias = a.qkv_bias or a.arch == "qwen2"
    return fl.Config(dim=a.dim, ffn=a.ffn, layers=a.layers, heads=a.heads,
                     kv_heads=a.kv_heads or a.heads, vocab=a.vocab, context=a.context,
                     tied=a.tied, qkv_bias=qkv_bias, rope_theta=a.rope_theta, rms_eps=a.rms_eps,
                     arch=a.arch)


def output_path(stem: str, fmt: str, dtype: str) -> str:
    if fmt == "gguf":
        return f"{stem}.{dtype}.gguf"
    if fmt == "hf":
        return f"{stem}-hf-{dtype}"
    return f"{stem}.bin"


def parse_formats(spec: str):
    out = []
    for item in spec.split(","):
        parts = item.strip().split(":")
        fmt = parts[0]
        dtype = parts[1].upper() if len(parts) > 1 else "F32"
        shards = int(parts[2]) if len(parts) > 2 else 1
        ok = {"gguf": fl.DTYPES, "hf": ("F32", "F16", "BF16"), "llama2c": ("F32",)}
        if fmt not in ok or dtype not in ok[fmt]:
            raise SystemExit(f"gen_fixture: bad format '{item}': use gguf:{{{','.join(ok['gguf'])}}}, "
                             f"hf:{{F32,F16,BF16}}[:SHARDS] or llama2c:F32")
        out.append((fmt, dtype, shards))
    return out


def write_all(stem: str, c: fl.Config, w, formats, tok_dir: str,
              chat_template: str | None = None) -> list[dict]:
    """Writes every requested format; returns one manifest entry per output."""
    tok_model = os.path.join(tok_dir, "tok512.model")
    tok_bin = os.path.join(tok_dir, "tok512.bin")
    vocab = None
    entries = []
    for fmt, dtype, shards in formats:
        path = output_path(stem, fmt, dtype)
        t0 = time.time()
        fl.progress(f"gen_fixture: writing {path} ({fmt} {dtype})")
        if fmt == "gguf":
            if vocab is None:
                vocab = fl.load_vocab(tok_model, tok_bin, c.vocab)
            fl.write_gguf(path, c, w, vocab, dtype, chat_template=chat_template)
            tokenizer = None  # inside the file
        elif fmt == "hf":
            fl.write_hf(path, c, w, dtype, tok_model, shards, chat_template)
            tokenizer = os.path.join(path, "tokenizer.model")
        else:
            fl.write_llama2c(path, c, w)
            tokenizer = tok_bin
        fl.progress(f"gen_fixture: wrote {path} in {time.time() - t0:.1f}s")
        entries.append({"path": path, "format": fmt, "dtype": dtype, "shards": shards,
                        "tokenizer": tokenizer})
    return entries


def write_fast(a, c: fl.Config, formats, t0: float) -> int:
    import fixture_stream as fs

    if any(f != "gguf" or dt not in ("F32", "F16", "BF16") for f, dt, _ in formats):
        raise SystemExit("gen_fixture: --fast writes gguf:F32, gguf:F16 or gguf:BF16 only")
    tok_bin = os.path.join(a.tokenizer_dir, "tok512.bin")
    try:
        vocab = fl.load_vocab(os.path.join(a.tokenizer_dir, "tok512.model"), tok_bin, c.vocab)
    except ImportError:
        vocab = fs.vocab_without_sentencepiece(tok_bin, c.vocab)
    for _, dtype, _ in formats:
        path = output_path(a.out, "gguf", dtype)
        n = sum(fl.math.prod(s) for _, s, _ in fl.tensor_shapes(c))
        fl.progress(f"gen_fixture: writing {path} ({n / 1e9:.2f}B parameters, {dtype}, fast)")
        fs.write_gguf_streamed(path, c, dtype, a.seed, vocab)
        fl.progress(f"gen_fixture: wrote {path} in {time.time() - t0:.1f}s")
    return 0


def main(argv=None) -> int:
    a = parse_args(argv)
    c = config_from_args(a)
    try:
        c.check()
    except ValueError as e:
        raise SystemExit(f"gen_fixture: {e}")
    formats = parse_formats(a.formats)
    if any(f == "llama2c" for f, _, _ in formats) and c.qkv_bias:
        raise SystemExit("gen_fixture: llama2.c checkpoints cannot hold q/k/v biases")
    d = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(d, exist_ok=True)
    t0 = time.time()
    if a.fast:
        return write_fast(a, c, formats, t0)
    w = fl.random_weights(c, a.seed)
    fl.progress(f"gen_fixture: {fl.param_count(w) / 1e6:.2f}M parameters in {time.time() - t0:.1f}s")
    chat_template = None
    if a.chat_template:
        with open(a.chat_template, encoding="utf-8") as f:
            chat_template = f.read()
    write_all(a.out, c, w, formats, a.tokenizer_dir, chat_template)
    fl.progress(f"gen_fixture: done in {time.time() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
