#!/usr/bin/env python3
"""Converts the llama2.c stories260K checkpoint (legacy v0, float32) and its
SentencePiece tokenizer to OUT/stories260K.gguf with the `gguf` package, the
way llama.cpp's converters lay it out, for tests/format/test_gguf_reader.cpp.
Exit 77 when python's gguf/sentencepiece are missing."""
import sys

try:
    import numpy as np
    import gguf
    import sentencepiece
except ImportError as e:
    print(f"python package missing: {e}")
    sys.exit(77)

model_dir, out = sys.argv[1], sys.argv[2]
raw = np.fromfile(f"{model_dir}/stories260K.bin", dtype=np.int32, count=7)
dim, hidden, n_layers, n_heads, n_kv, vocab, seq = (int(x) for x in raw)
assert vocab > 0, "stories260K shares its classifier"
w_all = np.fromfile(f"{model_dir}/stories260K.bin", dtype=np.float32, offset=28)
hd = dim // n_heads
pos = 0


def take(*shape):
    global pos
    n = int(np.prod(shape))
    a = w_all[pos:pos + n].reshape(shape)
    pos += n
    return a


emb = take(vocab, dim)
att_norm = take(n_layers, dim)
wq = take(n_layers, dim, dim)
wk = take(n_layers, n_kv * hd, dim)
wv = take(n_layers, n_kv * hd, dim)
wo = take(n_layers, dim, dim)
ffn_norm = take(n_layers, dim)
w1 = take(n_layers, hidden, dim)
w2 = take(n_layers, dim, hidden)
w3 = take(n_layers, hidden, dim)
out_norm = take(dim)

w = gguf.GGUFWriter(f"{out}/stories260K.gguf", "llama")
w.add_name("stories260K")
w.add_context_length(seq)
w.add_embedding_length(dim)
w.add_block_count(n_layers)
w.add_feed_forward_length(hidden)
w.add_head_count(n_heads)
w.add_head_count_kv(n_kv)
w.add_rope_dimension_count(hd)
w.add_layer_norm_rms_eps(1e-5)
sp = sentencepiece.SentencePieceProcessor(model_file=f"{model_dir}/tok512.model")
w.add_tokenizer_model("llama")
tokens, scores, types = [], [], []
for i in range(sp.vocab_size()):
    tokens.append(sp.id_to_piece(i))
    scores.append(sp.get_score(i))
    types.append(2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 6 if sp.is_byte(i) else 1)
w.add_token_list(tokens)
w.add_token_scores(scores)
w.add_token_types(types)
w.add_bos_token_id(sp.bos_id())
w.add_eos_token_id(sp.eos_id())
w.add_unk_token_id(sp.unk_id())

w.add_tensor("token_embd.weight", emb)
for l in range(n_layers):
    w.add_tensor(f"blk.{l}.attn_norm.weight", att_norm[l])
    w.add_tensor(f"blk.{l}.attn_q.weight", wq[l])
    w.add_tensor(f"blk.{l}.attn_k.weight", wk[l])
    w.add_tensor(f"blk.{l}.attn_v.weight", wv[l])
    w.add_tensor(f"blk.{l}.attn_output.weight", wo[l])
    w.add_tensor(f"blk.{l}.ffn_norm.weight", ffn_norm[l])
    w.add_tensor(f"blk.{l}.ffn_gate.weight", w1[l])
    w.add_tensor(f"blk.{l}.ffn_down.weight", w2[l])
    w.add_tensor(f"blk.{l}.ffn_up.weight", w3[l])
w.add_tensor("output_norm.weight", out_norm)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
