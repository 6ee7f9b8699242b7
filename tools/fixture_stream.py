"""Benchmark-sized models (billions of parameters) written fast: each tensor
is drawn uniform with the scale of fixture_lib's normal weights (the same
standard deviation: 1/sqrt(fan_in), 1 for the embedding, norms 1 +- 0.17),
in parallel worker processes, and streamed into one GGUF (F32, F16 or BF16)
in order, so memory holds a few tensors at a time. Weights differ from
fixture_lib.random_weights' normal draws: these files are for speed, not for
cross-format equality."""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import time

import numpy as np

import fixture_lib as fl

_SQRT3 = math.sqrt(3.0)


def _draw(job: tuple[int, int, tuple[int, ...], int, str]) -> np.ndarray:
    seed, index, shape, fan_in, dtype = job
    rng = np.random.default_rng([seed, index])
    x = rng.random(shape, dtype=np.float32)
    x *= 2.0
    x -= 1.0  # uniform in [-1, 1): std 1/sqrt(3)
    if fan_in == 0:
        x *= 0.1 * _SQRT3
        x += 1.0
    else:
        x *= _SQRT3 / math.sqrt(fan_in) if fan_in > 0 else _SQRT3
    if len(shape) == 1 or dtype == "F32":
        return x
    if dtype == "F16":
        return x.astype(np.float16)
    # BF16: round to nearest even on the top 16 bits.
    u = x.view(np.uint32)
    u += 0x7FFF + ((u >> 16) & 1)
    return (u >> 16).astype(np.uint16).view(np.uint8).reshape(*shape[:-1], shape[-1] * 2)


def write_gguf_streamed(path: str, c: fl.Config, dtype: str, seed: int, vocab: fl.Vocab | None,
                        workers: int = 0) -> None:
    import gguf

    if dtype not in ("F32", "F16", "BF16"):
        raise ValueError(f"the streamed writer makes F32, F16 or BF16, not {dtype}")
    shapes = fl.tensor_shapes(c)
    wr = gguf.GGUFWriter(path, c.arch)
    fl.gguf_header(wr, c, vocab, dtype, "tplm benchmark model")
    jobs = []
    for i, (name, shape, fan_in) in enumerate(shapes):
        n = math.prod(shape)
        if len(shape) == 1 or dtype == "F32":
            wr.add_tensor_info(name, shape, np.dtype(np.float32), 4 * n)
        elif dtype == "F16":
            wr.add_tensor_info(name, shape, np.dtype(np.float16), 2 * n)
        else:
            byte_shape = (*shape[:-1], shape[-1] * 2)
            wr.add_tensor_info(name, byte_shape, np.dtype(np.uint8), 2 * n,
                               raw_dtype=gguf.GGMLQuantizationType.BF16)
        jobs.append((seed, i, shape, fan_in, dtype))
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_ti_data_to_file()
    total = sum(math.prod(s) for _, s, _ in shapes)
    done, t0, last = 0, time.time(), 0.0
    with mp.Pool(workers or os.cpu_count() or 1) as pool:
        for (_, shape, _), data in zip(shapes, pool.imap(_draw, jobs, chunksize=1)):
            wr.write_tensor_data(data)
            done += math.prod(shape)
            if time.time() - last > 2.0:
                last = time.time()
                fl.progress(f"  {done / 1e9:.2f}B / {total / 1e9:.2f}B parameters "
                            f"({last - t0:.0f}s)")
    wr.close()


def vocab_without_sentencepiece(tok_bin: str, size: int) -> fl.Vocab:
    """tok512's vocabulary from its llama2.c .bin alone (where the Python
    sentencepiece package is missing): pieces with '\u2581' for spaces, the
    byte tokens <0xNN>, unk 0, bos 1, eos 2; padded to size like load_vocab."""
    pieces, scores = fl.read_llama2c_tokenizer(tok_bin)
    tokens, types = [], []
    for i, p in enumerate(pieces):
        text = p.decode("utf-8", errors="replace").replace(" ", "\u2581")
        tokens.append(text)
        if i == 0:
            types.append(2)
        elif i in (1, 2):
            types.append(3)
        elif text.startswith("<0x") and text.endswith(">") and len(text) == 6:
            types.append(6)
        else:
            types.append(1)
    for i in range(len(pieces), size):
        tokens.append(f"<extra_{i - len(pieces)}>")
        types.append(5)
    all_scores = [float(s) for s in scores] + [-1e9] * (size - len(pieces))
    return fl.Vocab(tokens, all_scores, types, bos=1, eos=2, unk=0)
