"""Q4_K / Q5_K / Q6_K quantization in numpy, for fixtures and reference data.

The gguf package (0.19) dequantizes the K-quants but does not quantize them.
This writes valid super-blocks in llama.cpp's layout (ggml-common.h) with a
plain, not optimal, choice of scales: per sub-block min/max (Q4_K, Q5_K) or
max |x| (Q6_K), scales rounded to 6 (8) bits against the super-block's f16
d / dmin. Their quality is below llama.cpp's quantizer (which searches the
scales); what matters for tests is that the blocks are valid and that
gguf.quants.dequantize decodes them. Files made by llama.cpp's own quantizer
are what the benchmark script (scripts/bench_vs_llamacpp.sh) uses.

quantize(x, "Q4_K") -> uint8 array [..., n / 256 * block_bytes] (rows of x
must be multiples of 256 elements), like gguf.quants.quantize.
"""
import numpy as np

QK_K = 256
BLOCK_BYTES = {"Q4_K": 144, "Q5_K": 176, "Q6_K": 210}


def _f16(v: np.ndarray) -> np.ndarray:
    return v.astype(np.float16)


def _pack_scale_min(sc: np.ndarray, m: np.ndarray) -> np.ndarray:
    """sc, m: [n, 8] ints < 64 -> [n, 12] bytes (get_scale_min's inverse)."""
    sc = sc.astype(np.uint8)
    m = m.astype(np.uint8)
    out = np.zeros((sc.shape[0], 12), dtype=np.uint8)
    out[:, 0:4] = (sc[:, 0:4] & 63) | ((sc[:, 4:8] & 0x30) << 2)
    out[:, 4:8] = (m[:, 0:4] & 63) | ((m[:, 4:8] & 0x30) << 2)
    out[:, 8:12] = (sc[:, 4:8] & 0x0F) | ((m[:, 4:8] & 0x0F) << 4)
    return out


def _q45_k(x: np.ndarray, bits: int) -> np.ndarray:
    n = x.shape[0]
    qmax = (1 << bits) - 1
    sub = x.reshape(n, 8, 32).astype(np.float32)
    lo = np.minimum(sub.min(axis=-1), 0.0)                 # x = d sc q - dmin m, m >= 0
    hi = sub.max(axis=-1)
    scale = (hi - lo) / qmax                               # [n, 8]
    mins = -lo
    d = _f16(scale.max(axis=-1) / 63.0)                    # [n]
    dmin = _f16(mins.max(axis=-1) / 63.0)
    df = d.astype(np.float32)[:, None]
    dminf = dmin.astype(np.float32)[:, None]
    sc = np.where(df > 0, np.rint(np.divide(scale, df, out=np.zeros_like(scale), where=df > 0)), 0)
    m = np.where(dminf > 0, np.rint(np.divide(mins, dminf, out=np.zeros_like(mins),
                                              where=dminf > 0)), 0)
    sc = np.clip(sc, 0, 63).astype(np.int32)
    m = np.clip(m, 0, 63).astype(np.int32)
    step = (df * sc)[:, :, None]                           # d * sc per sub-block
    off = (dminf * m)[:, :, None]
    q = np.where(step > 0, np.rint(np.divide(sub + off, step, out=np.zeros_like(sub),
                                             where=step > 0)), 0)
    q = np.clip(q, 0, qmax).astype(np.uint8).reshape(n, 4, 2, 32)  # [n, j, s, i]
    qs = (q[:, :, 0, :] & 0x0F) | ((q[:, :, 1, :] & 0x0F) << 4)     # [n, 4, 32]
    parts = [d.view(np.uint8).reshape(n, 2), dmin.view(np.uint8).reshape(n, 2),
             _pack_scale_min(sc, m)]
    if bits == 5:
        high = (q.reshape(n, 8, 32) >> 4) & 1                        # [n, k, i]
        qh = np.zeros((n, 32), dtype=np.uint8)
        for k in range(8):
            qh |= (high[:, k, :] << k).astype(np.uint8)
        parts.append(qh)
    parts.append(qs.reshape(n, 128))
    return np.concatenate(parts, axis=1)


def _q6_k(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    sub = x.reshape(n, 16, 16).astype(np.float32)
    scale = np.abs(sub).max(axis=-1) / 31.0                  # [n, 16], >= 0
    d = _f16(scale.max(axis=-1) / 127.0)
    df = d.astype(np.float32)[:, None]
    sc = np.where(df > 0, np.rint(np.divide(scale, df, out=np.zeros_like(scale), where=df > 0)), 0)
    sc = np.clip(sc, -128, 127).astype(np.int8)
    step = (df * sc.astype(np.float32))[:, :, None]
    q = np.where(step != 0, np.rint(np.divide(sub, step, out=np.zeros_like(sub),
                                              where=step != 0)), 0)
    q = (np.clip(q, -32, 31) + 32).astype(np.uint8).reshape(n, 2, 4, 32)   # [n, h, k, i]
    lo = q & 0x0F
    ql = np.concatenate([lo[:, :, 0, :] | (lo[:, :, 2, :] << 4),
                         lo[:, :, 1, :] | (lo[:, :, 3, :] << 4)], axis=2)  # [n, h, 64]
    hi = (q >> 4) & 3
    qh = hi[:, :, 0, :] | (hi[:, :, 1, :] << 2) | (hi[:, :, 2, :] << 4) | (hi[:, :, 3, :] << 6)
    return np.concatenate([ql.reshape(n, 128), qh.reshape(n, 64).astype(np.uint8),
                           sc.view(np.uint8), d.view(np.uint8).reshape(n, 2)], axis=1)


def quantize(x: np.ndarray, qtype: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.shape[-1] % QK_K:
        raise ValueError(f"{qtype} needs rows of a multiple of {QK_K} elements, got {x.shape}")
    blocks = x.reshape(-1, QK_K)
    out = _q6_k(blocks) if qtype == "Q6_K" else _q45_k(blocks, 4 if qtype == "Q4_K" else 5)
    assert out.shape[1] == BLOCK_BYTES[qtype]
    return out.reshape(*x.shape[:-1], x.shape[-1] // QK_K * BLOCK_BYTES[qtype])
