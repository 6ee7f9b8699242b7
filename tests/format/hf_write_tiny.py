"""Writes a tiny Hugging Face folder with the reference safetensors package.

usage: hf_write_tiny.py OUT DTYPE(F32|F16|BF16) ARCH(llama|qwen2) TIED(0|1) SHARDS(1|2)
Also writes manifest.json: hf name -> shape, file, first and last value (as
stored, rounded to DTYPE) so the test can check every offset independently.
"""
import json, os, sys
import numpy as np
from safetensors import serialize_file, TensorSpec

out, dtype, arch, tied, shards = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1", int(sys.argv[5])
os.makedirs(out, exist_ok=True)
d, f, L, H, KV, hd, V = 16, 32, 2, 4, 2, 4, 64
cfg = {"architectures": ["Qwen2ForCausalLM" if arch == "qwen2" else "LlamaForCausalLM"],
       "hidden_size": d, "intermediate_size": f, "num_hidden_layers": L, "num_attention_heads": H,
       "num_key_value_heads": KV, "vocab_size": V, "max_position_embeddings": 128,
       "rms_norm_eps": 1e-6, "rope_theta": 500000.0, "tie_word_embeddings": tied,
       "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                        "high_freq_factor": 4.0, "original_max_position_embeddings": 64}}
json.dump(cfg, open(os.path.join(out, "config.json"), "w"))

shapes = {"model.embed_tokens.weight": [V, d], "model.norm.weight": [d]}
if not tied:
    shapes["lm_head.weight"] = [V, d]
for l in range(L):
    p = f"model.layers.{l}."
    shapes.update({p + "input_layernorm.weight": [d], p + "self_attn.q_proj.weight": [H * hd, d],
                   p + "self_attn.k_proj.weight": [KV * hd, d], p + "self_attn.v_proj.weight": [KV * hd, d],
                   p + "self_attn.o_proj.weight": [d, H * hd], p + "post_attention_layernorm.weight": [d],
                   p + "mlp.gate_proj.weight": [f, d], p + "mlp.up_proj.weight": [f, d],
                   p + "mlp.down_proj.weight": [d, f]})
    if arch == "qwen2":
        shapes.update({p + "self_attn.q_proj.bias": [H * hd], p + "self_attn.k_proj.bias": [KV * hd],
                       p + "self_attn.v_proj.bias": [KV * hd]})

rng = np.random.default_rng(7)
names = list(shapes)
files = ["model.safetensors"] if shards == 1 else [f"model-0000{i+1}-of-0000{shards}.safetensors" for i in range(shards)]
manifest, groups, keep = {}, [{} for _ in files], []
for i, n in enumerate(names):
    x = rng.standard_normal(shapes[n]).astype(np.float32)
    if dtype == "F32":
        arr, st, vals = x, "float32", x
    elif dtype == "F16":
        arr = x.astype(np.float16); st, vals = "float16", arr.astype(np.float32)
    else:  # BF16: the top 16 bits of the float32
        arr = (x.view(np.uint32) >> 16).astype(np.uint16); st = "bfloat16"
        vals = (arr.astype(np.uint32) << 16).view(np.float32)
    arr = np.ascontiguousarray(arr); keep.append(arr)
    g = i * len(files) // len(names)
    groups[g][n] = TensorSpec(dtype=st, shape=list(arr.shape), data_ptr=arr.ctypes.data, data_len=arr.nbytes)
    manifest[n] = {"shape": shapes[n], "file": files[g], "first": float(vals.flat[0]), "last": float(vals.flat[-1])}
for fn, g in zip(files, groups):
    serialize_file(g, os.path.join(out, fn), {"format": "pt"})
if shards > 1:
    json.dump({"metadata": {}, "weight_map": {n: m["file"] for n, m in manifest.items()}},
              open(os.path.join(out, "model.safetensors.index.json"), "w"))
open(os.path.join(out, "tokenizer.json"), "w").write("{}")
json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"))
