# Writes the seeds of fuzz_safetensors and fuzz_llama2c: python3 fuzz/seeds/make_hf_llama2c_seeds.py fuzz/seeds
import json, os, struct, sys
import numpy as np
from safetensors import serialize_file, TensorSpec
root = sys.argv[1]
d, f, H, KV, hd, V = 8, 16, 2, 1, 4, 8
shapes = {"model.embed_tokens.weight": [V, d], "model.norm.weight": [d],
          "model.layers.0.input_layernorm.weight": [d], "model.layers.0.self_attn.q_proj.weight": [H*hd, d],
          "model.layers.0.self_attn.k_proj.weight": [KV*hd, d], "model.layers.0.self_attn.v_proj.weight": [KV*hd, d],
          "model.layers.0.self_attn.o_proj.weight": [d, H*hd], "model.layers.0.post_attention_layernorm.weight": [d],
          "model.layers.0.mlp.gate_proj.weight": [f, d], "model.layers.0.mlp.up_proj.weight": [f, d],
          "model.layers.0.mlp.down_proj.weight": [d, f]}
rng = np.random.default_rng(1)
for dt, st in [("f16", "float16"), ("bf16", "bfloat16")]:
    keep, specs = [], {}
    for n, s in shapes.items():
        a = rng.standard_normal(s).astype(np.float16 if dt == "f16" else np.float32)
        if dt == "bf16": a = (a.view(np.uint32) >> 16).astype(np.uint16)
        keep.append(a)
        specs[n] = TensorSpec(dtype=st, shape=s, data_ptr=a.ctypes.data, data_len=a.nbytes)
    serialize_file(specs, os.path.join(root, "fuzz_safetensors", f"tiny_llama_{dt}.safetensors"), {"format": "pt"})
# llama2.c: dim 8, hidden 16, 1 layer, 2 heads, 1 kv head, vocab 8, seq 4
dim, hid, L, nh, nkv, vocab, seq = 8, 16, 1, 2, 1, 8, 4
kv = nkv * dim // nh
n = vocab*dim + L*dim + L*dim*dim + 2*L*kv*dim + L*dim*dim + L*dim + 3*L*hid*dim + dim
w = rng.standard_normal(n).astype(np.float32).tobytes()
fc = np.zeros(seq * (dim // nh // 2) * 2, np.float32).tobytes()
open(os.path.join(root, "fuzz_llama2c", "tiny_v0.bin"), "wb").write(struct.pack("7i", dim, hid, L, nh, nkv, vocab, seq) + w + fc)
hdr = struct.pack("<Ii7iB", 0x616b3432, 1, dim, hid, L, nh, nkv, vocab, seq, 1).ljust(256, b"\0")
open(os.path.join(root, "fuzz_llama2c", "tiny_v1.bin"), "wb").write(hdr + w)
hdr = struct.pack("<Ii7iB", 0x616b3432, 1, dim, hid, L, nh, nkv, vocab, seq, 0).ljust(256, b"\0")
open(os.path.join(root, "fuzz_llama2c", "tiny_v1_unshared.bin"), "wb").write(hdr + w + rng.standard_normal(vocab*dim).astype(np.float32).tobytes())
