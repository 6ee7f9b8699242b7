#!/usr/bin/env python3
"""Checks every fixture in OUT_DIR/manifest.json with the reference Python
readers (gguf.GGUFReader, safetensors headers, numpy): each holds the same
weights as its source (stories260K.bin, or the seeded random weights), Q/K in
the layout the manifest says, and quantized tensors equal gguf.quants of the
f32 values. Exits 1 naming the first difference.

usage: tools/check_fixtures.py OUT_DIR
"""
import json
import os
import struct
import sys

import numpy as np

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import fixture_lib as fl  # noqa: E402
import make_test_fixtures as mtf  # noqa: E402


def fail(msg: str) -> None:
    print(f"check_fixtures: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def source_weights(e: dict):
    if e["kind"] == "stories":
        return fl.read_llama2c(os.path.join(mtf.STORIES, "stories260K.bin"))
    name = e["name"].split(".")[0].split("-")[0]
    c, seed, _ = mtf.RANDOM[name]
    return c, fl.random_weights(c, seed)


def expected_stored(c, name, x, layout):
    heads = fl.qk_heads(c, name)
    if heads is not None and layout == "rotate_half":
        x = fl.interleaved_to_rotate_half(x, heads)
    return x


def check_gguf(path, c, w, e):
    import gguf

    r = gguf.GGUFReader(path)
    names = [t.name for t in r.tensors]
    if names != list(w):
        fail(f"{path}: tensor names {names} != {list(w)}")
    arch = bytes(r.fields["general.architecture"].parts[-1]).decode()
    if arch != c.arch:
        fail(f"{path}: architecture {arch} != {c.arch}")
    toks = r.fields["tokenizer.ggml.tokens"]
    if len(toks.data) != c.vocab:
        fail(f"{path}: {len(toks.data)} tokens, want {c.vocab}")
    for t in r.tensors:
        x = expected_stored(c, t.name, w[t.name], e["qk_layout"])
        qt = t.tensor_type
        st = fl.stored_type(t.name, x, e["dtype"])
        if st == "F32":
            want = x.astype(np.float32)
            got = np.asarray(t.data).reshape(x.shape)
        elif st == "F16":
            want = x.astype(np.float16)
            got = np.asarray(t.data).reshape(x.shape)
        else:
            want = fl.quantize(x, st)
            got = np.asarray(t.data)
            if gguf.GGMLQuantizationType[st] != qt:
                fail(f"{path}: {t.name} has type {qt.name}, want {st}")
            # And the dequantization is close to the f32 values (a sanity bound per type).
            deq = gguf.quants.dequantize(got, qt).reshape(x.shape)
            tol = {"Q8_0": 0.01, "Q4_0": 0.2, "BF16": 0.01, "Q4_K": 0.3, "Q5_K": 0.15,
                   "Q6_K": 0.08}[st]
            err = np.abs(deq - x).max() / np.abs(x).max()
            if err > tol:
                fail(f"{path}: {t.name} dequantizes with relative error {err:.3g} > {tol}")
        if not np.array_equal(got.reshape(-1).view(np.uint8), np.ascontiguousarray(want).reshape(-1).view(np.uint8)):
            fail(f"{path}: tensor {t.name} differs from the source weights")


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b = data[v["data_offsets"][0]:v["data_offsets"][1]]
        if v["dtype"] == "F32":
            x = np.frombuffer(b, "<f4")
        elif v["dtype"] == "F16":
            x = np.frombuffer(b, "<f2").astype(np.float32)
        else:
            x = (np.frombuffer(b, "<u2").astype(np.uint32) << 16).view(np.float32)
        out[k] = x.reshape(v["shape"])
    return out


def check_hf(path, c, w, e):
    from safetensors import safe_open

    files = sorted(f for f in os.listdir(path) if f.endswith(".safetensors"))
    got = {}
    for f in files:
        got.update(read_safetensors(os.path.join(path, f)))
        if e["dtype"] != "BF16":  # numpy has no bfloat16: the reference reader checks the others
            with safe_open(os.path.join(path, f), framework="numpy") as s:
                for k in s.keys():
                    ref = s.get_tensor(k).astype(np.float32)
                    if not np.array_equal(ref, got[k]):
                        fail(f"{path}/{f}: {k} differs between safetensors and this reader")
    if e["shards"] > 1:
        idx = json.load(open(os.path.join(path, "model.safetensors.index.json")))
        if set(idx["weight_map"]) != set(got):
            fail(f"{path}: index.json weight_map does not list every tensor")
    cfg = json.load(open(os.path.join(path, "config.json")))
    if cfg["hidden_size"] != c.dim or cfg["vocab_size"] != c.vocab or cfg["tie_word_embeddings"] != c.tied:
        fail(f"{path}: config.json disagrees with the source config")
    for name, x in w.items():
        hn = fl.hf_name(name)
        if hn not in got:
            fail(f"{path}: missing {hn}")
        want = expected_stored(c, name, x, "rotate_half")
        # Back through llama.cpp's permute must give the interleaved original.
        heads = fl.qk_heads(c, name)
        if heads is not None and not np.array_equal(fl.rotate_half_to_interleaved(want, heads), x):
            fail(f"{path}: permute round trip of {name} is not the identity")
        if e["dtype"] == "F32":
            ok = np.array_equal(got[hn], want)
        elif e["dtype"] == "F16":
            ok = np.array_equal(got[hn], want.astype(np.float16).astype(np.float32))
        else:
            ok = np.abs(got[hn] - want).max() <= np.abs(want).max() * 2 ** -8
        if not ok:
            fail(f"{path}: {hn} differs from the source weights")
    if len(got) != len(w):
        fail(f"{path}: {len(got)} tensors, want {len(w)}")


def check_llama2c(path, c, w, e):
    c2, w2 = fl.read_llama2c(path)
    if (c2.dim, c2.ffn, c2.layers, c2.heads, c2.kv_heads, c2.vocab, c2.tied) != \
            (c.dim, c.ffn, c.layers, c.heads, c.kv_heads, c.vocab, c.tied):
        fail(f"{path}: header disagrees with the source config")
    for name, x in w.items():
        if not np.array_equal(w2[name], x):
            fail(f"{path}: {name} differs from the source weights")


def main() -> int:
    out = os.path.abspath(sys.argv[1])
    entries = json.load(open(os.path.join(out, "manifest.json")))["fixtures"]
    cache = {}
    for e in entries:
        key = e["kind"] + e["name"].split(".")[0].split("-")[0]
        if key not in cache:
            cache[key] = source_weights(e)
        c, w = cache[key]
        path = os.path.join(out, e["path"])
        {"gguf": check_gguf, "hf": check_hf, "llama2c": check_llama2c}[e["format"]](path, c, w, e)
        if e["tokenizer"] and not os.path.exists(os.path.join(out, e["tokenizer"])):
            fail(f"{e['name']}: tokenizer {e['tokenizer']} is missing")
        print(f"check_fixtures: ok {e['name']} ({e['format']} {e['dtype']})")
    print(f"check_fixtures: {len(entries)} fixtures ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
