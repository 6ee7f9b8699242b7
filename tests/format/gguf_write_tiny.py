#!/usr/bin/env python3
"""Writes a tiny llama GGUF with the `gguf` package (F32, F16, BF16, Q8_0, Q4_0
tensors) to OUT/tiny.gguf, and what gguf's own reader sees in it to
OUT/expected.json, for tests/format/test_gguf_reader.cpp. Exit 77: no gguf."""
import json
import sys

try:
    import numpy as np
    import gguf
    from gguf.quants import quantize
except ImportError as e:  # the test reports itself skipped
    print(f"python gguf package missing: {e}")
    sys.exit(77)

out = sys.argv[1]
T = gguf.GGMLQuantizationType
dim, ffn, layers, heads, kv_heads, vocab = 64, 96, 2, 4, 2, 40
hd = dim // heads
rng = np.random.default_rng(7)

w = gguf.GGUFWriter(f"{out}/tiny.gguf", "llama")
w.add_context_length(256)
w.add_embedding_length(dim)
w.add_block_count(layers)
w.add_feed_forward_length(ffn)
w.add_head_count(heads)
w.add_head_count_kv(kv_heads)
w.add_rope_freq_base(10000.0)
w.add_layer_norm_rms_eps(1e-5)
w.add_tokenizer_model("llama")
tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(8)]
tokens += ["\u2581" + chr(ord("a") + i) for i in range(vocab - len(tokens))]
w.add_token_list(tokens)
w.add_token_scores([-float(i) for i in range(vocab)])
w.add_token_types([2, 3, 3] + [6] * 8 + [1] * (vocab - 11))
w.add_bos_token_id(1)
w.add_eos_token_id(2)
w.add_unk_token_id(0)
w.add_add_bos_token(True)


def add(name, shape, qtype):
    x = rng.standard_normal(shape).astype(np.float32)
    if qtype == T.F32:
        w.add_tensor(name, x)
    elif qtype == T.F16:
        w.add_tensor(name, x.astype(np.float16))
    else:  # BF16, Q8_0, Q4_0: raw bytes, shape given in bytes per row
        w.add_tensor(name, quantize(x, qtype), raw_dtype=qtype)


add("token_embd.weight", (vocab, dim), T.Q8_0)
for l in range(layers):
    add(f"blk.{l}.attn_norm.weight", (dim,), T.F32)
    add(f"blk.{l}.attn_q.weight", (dim, dim), T.F16)
    add(f"blk.{l}.attn_k.weight", (kv_heads * hd, dim), T.BF16)
    add(f"blk.{l}.attn_v.weight", (kv_heads * hd, dim), T.Q4_0)
    add(f"blk.{l}.attn_output.weight", (dim, dim), T.Q8_0)
    add(f"blk.{l}.ffn_norm.weight", (dim,), T.F32)
    add(f"blk.{l}.ffn_gate.weight", (ffn, dim), T.Q4_0)
    add(f"blk.{l}.ffn_up.weight", (ffn, dim), T.BF16)
    add(f"blk.{l}.ffn_down.weight", (dim, ffn), T.F32 if l == 0 else T.Q8_0)
add("output_norm.weight", (dim,), T.F32)
add("output.weight", (vocab, dim), T.F16)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

r = gguf.GGUFReader(f"{out}/tiny.gguf")
expected = {
    "tensors": [
        {
            "name": t.name,
            "dtype": T(t.tensor_type).name,
            "shape": [int(d) for d in reversed(t.shape.tolist())],
            "offset": int(t.data_offset),
            "nbytes": int(t.n_bytes),
        }
        for t in r.tensors
    ],
    "tokens": tokens,
}
with open(f"{out}/expected.json", "w") as f:
    json.dump(expected, f)
