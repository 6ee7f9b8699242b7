"""Shared code of tplm's model tools: one Llama-family model held as float32
numpy arrays under canonical GGUF names, in the interleaved RoPE layout
(GGUF / llama2.c), and writers for every format tplm reads:

  write_gguf     GGUF v3, F32 / F16 / BF16 / Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K (gguf.GGUFWriter)
  write_hf       Hugging Face folder: config.json + safetensors (F32 / F16 / BF16,
                 optionally sharded), Q/K rows in HF's rotate-half layout
  write_llama2c  llama2.c legacy v0 checkpoint (F32)

and read_llama2c for real llama2.c checkpoints (stories260K).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import struct
import sys
import time
from dataclasses import dataclass, asdict, field

import numpy as np

DTYPES = ("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K")
K_QUANTS = ("Q4_K", "Q5_K", "Q6_K")


@dataclass
class Config:
    dim: int
    ffn: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    context: int
    tied: bool = False
    qkv_bias: bool = False
    rope_theta: float = 10000.0
    rms_eps: float = 1e-5
    arch: str = "llama"  # llama or qwen2 (qwen2 implies q/k/v biases)

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    def check(self) -> None:
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not a multiple of heads {self.heads}")
        if self.heads % self.kv_heads:
            raise ValueError(f"heads {self.heads} is not a multiple of kv heads {self.kv_heads}")
        if self.head_dim % 2:
            raise ValueError(f"head_dim {self.head_dim} must be even for RoPE")

    def to_json(self) -> dict:
        d = asdict(self)
        d["head_dim"] = self.head_dim
        return d


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- weights

def tensor_shapes(c: Config) -> list[tuple[str, tuple[int, ...], int]]:
    """(name, shape [out, in], fan_in) of every tensor; fan_in 0 marks a norm
    (1 + 0.1 N(0,1)), -1 the embedding (std 1)."""
    hd = c.head_dim
    out = [("token_embd.weight", (c.vocab, c.dim), -1)]
    for i in range(c.layers):
        p = f"blk.{i}."
        out += [
            (p + "attn_norm.weight", (c.dim,), 0),
            (p + "attn_q.weight", (c.heads * hd, c.dim), c.dim),
            (p + "attn_k.weight", (c.kv_heads * hd, c.dim), c.dim),
            (p + "attn_v.weight", (c.kv_heads * hd, c.dim), c.dim),
        ]
        if c.qkv_bias:
            # Biases drawn like a linear layer's output scale: small but not zero.
            out += [
                (p + "attn_q.bias", (c.heads * hd,), c.dim),
                (p + "attn_k.bias", (c.kv_heads * hd,), c.dim),
                (p + "attn_v.bias", (c.kv_heads * hd,), c.dim),
            ]
        out += [
            (p + "attn_output.weight", (c.dim, c.heads * hd), c.heads * hd),
            (p + "ffn_norm.weight", (c.dim,), 0),
            (p + "ffn_gate.weight", (c.ffn, c.dim), c.dim),
            (p + "ffn_up.weight", (c.ffn, c.dim), c.dim),
            (p + "ffn_down.weight", (c.dim, c.ffn), c.ffn),
        ]
    out.append(("output_norm.weight", (c.dim,), 0))
    if not c.tied:
        out.append(("output.weight", (c.vocab, c.dim), c.dim))
    return out


def random_weights(c: Config, seed: int) -> dict[str, np.ndarray]:
    """Normal weights, std 1/sqrt(fan_in) (embedding std 1, norms 1 + 0.1 N):
    never zeros, so logits are decisive and greedy argmax is far from ties."""
    c.check()
    rng = np.random.default_rng(seed)
    w = {}
    shapes = tensor_shapes(c)
    total = sum(math.prod(s) for _, s, _ in shapes)
    done, t0, last = 0, time.time(), 0.0
    for name, shape, fan_in in shapes:
        x = rng.standard_normal(shape, dtype=np.float32)
        if fan_in == 0:
            x = 1.0 + 0.1 * x
        elif fan_in > 0:
            x *= 1.0 / math.sqrt(fan_in)
        w[name] = x.astype(np.float32)
        done += x.size
        if total > 5_000_000 and time.time() - last > 1.0:
            last = time.time()
            progress(f"  weights {done / 1e6:.1f}M / {total / 1e6:.1f}M params ({last - t0:.0f}s)")
    return w


def param_count(w: dict[str, np.ndarray]) -> int:
    return sum(x.size for x in w.values())


# ---------------------------------------------------------------- RoPE layout

def interleaved_to_rotate_half(x: np.ndarray, n_heads: int) -> np.ndarray:
    """Inverse of llama.cpp convert_hf_to_gguf.py's `permute`: interleaved row
    2i + j of a head becomes rotate-half row j * hd/2 + i."""
    hd = x.shape[0] // n_heads
    return (x.reshape(n_heads, hd // 2, 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)).copy()


def rotate_half_to_interleaved(x: np.ndarray, n_heads: int) -> np.ndarray:
    """llama.cpp's `permute` (HF -> GGUF)."""
    hd = x.shape[0] // n_heads
    return (x.reshape(n_heads, 2, hd // 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)).copy()


def qk_heads(c: Config, name: str) -> int | None:
    """Head count of a Q or K tensor (weight or bias), None for others."""
    if ".attn_q." in name:
        return c.heads
    if ".attn_k." in name:
        return c.kv_heads
    return None


# ---------------------------------------------------------------- vocabulary

@dataclass
class Vocab:
    tokens: list[str]  # pieces with "▁" for spaces, as llama.cpp stores them
    scores: list[float]
    types: list[int]   # GGUF token types: 1 normal, 2 unknown, 3 control, 5 unused, 6 byte
    bos: int = 1
    eos: int = 2
    unk: int = 0


def read_llama2c_tokenizer(path: str) -> tuple[list[bytes], list[float]]:
    """llama2.c tokenizer .bin: int32 max_token_length, then per token
    float32 score, int32 length, bytes."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 4
    pieces, scores = [], []
    while pos < len(data):
        score, n = struct.unpack_from("<fi", data, pos)
        pos += 8
        pieces.append(data[pos:pos + n])
        scores.append(score)
        pos += n
    return pieces, scores


def load_vocab(tok_model: str, tok_bin: str | None, size: int) -> Vocab:
    """The tok512 vocabulary from its SentencePiece model (pieces, types) with
    the scores of the llama2.c .bin when given, padded with never-merged
    <extra_N> tokens (UNUSED, score -1e9) up to size."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=tok_model)
    n = sp.get_piece_size()
    if size < n:
        raise ValueError(f"vocab {size} is smaller than the tokenizer's {n} pieces")
    tokens, scores, types = [], [], []
    for i in range(n):
        tokens.append(sp.id_to_piece(i))
        scores.append(float(sp.get_score(i)))
        if sp.is_unknown(i):
            types.append(2)
        elif sp.is_control(i):
            types.append(3)
        elif sp.is_byte(i):
            types.append(6)
        else:
            types.append(1)
    if tok_bin:
        _, bin_scores = read_llama2c_tokenizer(tok_bin)
        if len(bin_scores) != n:
            raise ValueError(f"{tok_bin} has {len(bin_scores)} tokens, {tok_model} has {n}")
        scores = [float(s) for s in bin_scores]
    for i in range(n, size):
        tokens.append(f"<extra_{i - n}>")
        scores.append(-1e9)
        types.append(5)
    return Vocab(tokens, scores, types, bos=sp.bos_id(), eos=sp.eos_id(), unk=sp.unk_id())


# ---------------------------------------------------------------- GGUF

def stored_type(tname: str, x: np.ndarray, dtype: str) -> str:
    """The type a tensor is stored in a GGUF file of `dtype`: 1-D tensors
    (norms, biases) stay F32 as in llama.cpp's converter; in a K-quant file the
    LM head is Q6_K (as llama.cpp's quantizer writes it) and a matrix whose rows
    are not whole 256-element super-blocks falls back to Q8_0."""
    if x.ndim == 1:
        return "F32"
    if dtype in K_QUANTS:
        if x.shape[-1] % 256:
            return "Q8_0"
        if tname == "output.weight":
            return "Q6_K"
    return dtype


def quantize(x: np.ndarray, qtype: str) -> np.ndarray:
    """Raw blocks of x in a quantized type (gguf.quants, or tools/kquants.py for
    the K-quants, which gguf 0.19 cannot quantize)."""
    import gguf

    if qtype in K_QUANTS:
        import kquants

        return kquants.quantize(x, qtype)
    return gguf.quants.quantize(x, gguf.GGMLQuantizationType[qtype])


def _gguf_tensor(tname: str, x: np.ndarray, dtype: str):
    """(data, raw_dtype) for GGUFWriter.add_tensor."""
    import gguf

    st = stored_type(tname, x, dtype)
    if st == "F32":
        return x.astype(np.float32), None
    if st == "F16":
        return x.astype(np.float16), None
    qt = gguf.GGMLQuantizationType[st]
    return quantize(x, st), qt


def gguf_header(wr, c: Config, vocab: Vocab | None, dtype: str, name: str,
                chat_template: str | None = None) -> None:
    """The metadata of a fixture GGUF: architecture, shape, vocabulary, chat template."""
    wr.add_name(name)
    wr.add_context_length(c.context)
    wr.add_embedding_length(c.dim)
    wr.add_block_count(c.layers)
    wr.add_feed_forward_length(c.ffn)
    wr.add_head_count(c.heads)
    wr.add_head_count_kv(c.kv_heads)
    wr.add_rope_dimension_count(c.head_dim)
    wr.add_rope_freq_base(c.rope_theta)
    wr.add_layer_norm_rms_eps(c.rms_eps)
    wr.add_vocab_size(c.vocab)
    ftype = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 7, "BF16": 32, "Q4_K": 15, "Q5_K": 17,
             "Q6_K": 18}[dtype]  # llama_ftype: MOSTLY_Q4_K_M, Q5_K_M, Q6_K
    wr.add_file_type(ftype)
    if vocab is not None:
        wr.add_tokenizer_model("llama")
        wr.add_tokenizer_pre("default")
        wr.add_token_list(vocab.tokens)
        wr.add_token_scores(vocab.scores)
        wr.add_token_types(vocab.types)
        wr.add_bos_token_id(vocab.bos)
        wr.add_eos_token_id(vocab.eos)
        wr.add_unk_token_id(vocab.unk)
        wr.add_add_bos_token(True)
        wr.add_add_eos_token(False)
    if chat_template is not None:
        wr.add_chat_template(chat_template)  # tokenizer.chat_template


def write_gguf(path: str, c: Config, w: dict[str, np.ndarray], vocab: Vocab | None,
               dtype: str, name: str = "tplm fixture", chat_template: str | None = None) -> None:
    import gguf

    wr = gguf.GGUFWriter(path, c.arch)
    gguf_header(wr, c, vocab, dtype, name, chat_template)
    for tname, x in w.items():
        heads = qk_heads(c, tname)
        if heads is not None and c.arch == "qwen2":
            # llama.cpp does not permute Qwen2 Q/K (it runs NEOX RoPE on the HF layout).
            x = interleaved_to_rotate_half(x, heads)
        data, raw = _gguf_tensor(tname, x, dtype)
        if raw is None:
            wr.add_tensor(tname, data)
        else:
            wr.add_tensor(tname, data, raw_dtype=raw)
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file(progress=False)
    wr.close()


# ---------------------------------------------------------------- safetensors / HF

def hf_name(name: str) -> str:
    """Canonical GGUF name -> Hugging Face Llama name."""
    if name == "token_embd.weight":
        return "model.embed_tokens.weight"
    if name == "output_norm.weight":
        return "model.norm.weight"
    if name == "output.weight":
        return "lm_head.weight"
    _, layer, rest = name.split(".", 2)
    what, kind = rest.rsplit(".", 1)
    hf = {
        "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
        "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    }[what]
    return f"model.layers.{layer}.{hf}.{kind}"


def to_dtype_bytes(x: np.ndarray, dtype: str) -> bytes:
    if dtype == "F32":
        return x.astype("<f4").tobytes()
    if dtype == "F16":
        return x.astype("<f2").tobytes()
    if dtype == "BF16":
        # Round to nearest even, like torch's float -> bfloat16.
        u = x.astype("<f4").view("<u4").astype(np.uint64)
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
        return u.astype("<u2").tobytes()
    raise ValueError(f"safetensors dtype {dtype} is not written (F32, F16, BF16)")


def write_safetensors(path: str, tensors: list[tuple[str, np.ndarray]], dtype: str) -> int:
    """Writes one .safetensors file (8-byte header length, JSON header, data);
    returns the data bytes. Our own writer: numpy has no bfloat16."""
    st_dtype = {"F32": "F32", "F16": "F16", "BF16": "BF16"}[dtype]
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, x in tensors:
        b = to_dtype_bytes(x, dtype)
        header[name] = {"dtype": st_dtype, "shape": list(x.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return off


def hf_config(c: Config, dtype: str) -> dict:
    arch = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM"}[c.arch]
    cfg = {
        "architectures": [arch],
        "model_type": c.arch,
        "hidden_size": c.dim,
        "intermediate_size": c.ffn,
        "num_hidden_layers": c.layers,
        "num_attention_heads": c.heads,
        "num_key_value_heads": c.kv_heads,
        "head_dim": c.head_dim,
        "vocab_size": c.vocab,
        "max_position_embeddings": c.context,
        "rms_norm_eps": c.rms_eps,
        "rope_theta": c.rope_theta,
        "rope_scaling": None,
        "hidden_act": "silu",
        "tie_word_embeddings": c.tied,
        "torch_dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype],
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    if c.arch == "llama":
        cfg["attention_bias"] = c.qkv_bias
    elif not c.qkv_bias:
        raise ValueError("a qwen2 model has q/k/v biases")
    return cfg


def write_hf(folder: str, c: Config, w: dict[str, np.ndarray], dtype: str,
             tokenizer_model: str | None, shards: int = 1, chat_template: str | None = None) -> None:
    """config.json + model.safetensors (or model-0000K-of-0000N.safetensors and
    model.safetensors.index.json), Q/K rows permuted to rotate-half; with a
    chat template, tokenizer_config.json holding it as transformers does."""
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):  # stale shards of an earlier shape
        if f.endswith(".safetensors") or f.endswith(".index.json"):
            os.remove(os.path.join(folder, f))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(hf_config(c, dtype), f, indent=2)
    named = []
    for name, x in w.items():
        heads = qk_heads(c, name)
        if heads is not None:
            x = interleaved_to_rotate_half(x, heads)
        named.append((hf_name(name), x))
    if shards <= 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), named, dtype)
    else:
        # Split by bytes into `shards` files, keeping tensor order.
        total = sum(x.size for _, x in named)
        groups, cur, acc = [], [], 0
        for item in named:
            cur.append(item)
            acc += item[1].size
            if acc >= total * (len(groups) + 1) / shards and len(groups) < shards - 1:
                groups.append(cur)
                cur = []
        groups.append(cur)
        n = len(groups)
        weight_map, size = {}, 0
        for k, g in enumerate(groups):
            fname = f"model-{k + 1:05d}-of-{n:05d}.safetensors"
            size += write_safetensors(os.path.join(folder, fname), g, dtype)
            weight_map.update({name: fname for name, _ in g})
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": size}, "weight_map": weight_map}, f, indent=2)
    if tokenizer_model:
        shutil.copyfile(tokenizer_model, os.path.join(folder, "tokenizer.model"))
    if chat_template is not None:
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump({"chat_template": chat_template}, f, indent=2)


# ---------------------------------------------------------------- llama2.c

def _llama2c_layers(c: Config) -> list[str]:
    return ["attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight",
            "attn_output.weight", "ffn_norm.weight", "ffn_gate.weight", "ffn_down.weight",
            "ffn_up.weight"]


def write_llama2c(path: str, c: Config, w: dict[str, np.ndarray]) -> None:
    """llama2.c legacy v0: header of 7 int32 (vocab negative when the
    classifier is not shared), then all layers' tensors grouped by kind,
    the final norm, the (unused) freq_cis tables and wcls."""
    if c.qkv_bias:
        raise ValueError("llama2.c checkpoints have no q/k/v biases")
    vocab = c.vocab if c.tied else -c.vocab
    with open(path, "wb") as f:
        f.write(struct.pack("<7i", c.dim, c.ffn, c.layers, c.heads, c.kv_heads, vocab, c.context))
        f.write(w["token_embd.weight"].astype("<f4").tobytes())
        for kind in _llama2c_layers(c):
            for i in range(c.layers):
                f.write(w[f"blk.{i}.{kind}"].astype("<f4").tobytes())
        f.write(w["output_norm.weight"].astype("<f4").tobytes())
        hd = c.head_dim
        pos = np.arange(c.context, dtype=np.float64)[:, None]
        freqs = 1.0 / (c.rope_theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
        ang = pos * freqs[None, :]
        f.write(np.cos(ang).astype("<f4").tobytes())
        f.write(np.sin(ang).astype("<f4").tobytes())
        if not c.tied:
            f.write(w["output.weight"].astype("<f4").tobytes())


def read_llama2c(path: str) -> tuple[Config, dict[str, np.ndarray]]:
    """Reads a llama2.c legacy v0 checkpoint into canonical names."""
    data = np.fromfile(path, dtype="<f4")
    dim, ffn, layers, heads, kv_heads, vocab, ctx = struct.unpack("<7i", data[:7].tobytes())
    tied = vocab > 0
    vocab = abs(vocab)
    c = Config(dim=dim, ffn=ffn, layers=layers, heads=heads, kv_heads=kv_heads, vocab=vocab,
               context=ctx, tied=tied)
    hd = c.head_dim
    pos = 7
    w: dict[str, np.ndarray] = {}

    def take(shape):
        nonlocal pos
        n = math.prod(shape)
        if pos + n > data.size:
            raise ValueError(f"{path}: file ends before tensor of shape {shape}")
        x = data[pos:pos + n].reshape(shape).copy()
        pos += n
        return x

    w["token_embd.weight"] = take((vocab, dim))
    shapes = {
        "attn_norm.weight": (dim,), "attn_q.weight": (heads * hd, dim),
        "attn_k.weight": (kv_heads * hd, dim), "attn_v.weight": (kv_heads * hd, dim),
        "attn_output.weight": (dim, heads * hd), "ffn_norm.weight": (dim,),
        "ffn_gate.weight": (ffn, dim), "ffn_down.weight": (dim, ffn), "ffn_up.weight": (ffn, dim),
    }
    for kind in _llama2c_layers(c):
        for i in range(layers):
            w[f"blk.{i}.{kind}"] = take(shapes[kind])
    w["output_norm.weight"] = take((dim,))
    take((ctx, hd // 2))
    take((ctx, hd // 2))
    if not tied:
        w["output.weight"] = take((vocab, dim))
    # Canonical order (per layer), as the generator writes them.
    order = [n for n, _, _ in tensor_shapes(c)]
    return c, {n: w[n] for n in order}
