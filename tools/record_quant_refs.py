#!/usr/bin/env python3
"""Records reference Q8_0 / Q4_0 / Q4_K / Q5_K / Q6_K blocks decoded by
llama.cpp's own Python code (the `gguf` package: gguf.quants.dequantize), so
that the C++ kernels are checked against llama.cpp's block layout rather than
against themselves. Q8_0 and Q4_0 blocks are gguf.quants.quantize's; the
K-quant blocks are tools/kquants.py's (gguf 0.19 cannot quantize them), with
the super-blocks' f16 d / dmin and a few scales overwritten with edge values
(zero, subnormal, the largest 6-bit scale) so the decoders meet them.

Writes into tests/data/quant/ (or the folder given as argument):
  source.f32          the float32 matrix that was quantized, [ROWS, COLS] row-major
  source_k.f32        the one for the K-quants, [K_ROWS, K_COLS]
  <type>.blocks       the quantized blocks, row after row
  <type>.dequant.f32  gguf.quants.dequantize(blocks, type): float32, the source's shape
  meta.json           shape, seed, gguf version, file sizes and how the data was made

Run: python3 tools/record_quant_refs.py [OUT_DIR]
"""
import json
import pathlib
import sys
from importlib import metadata

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import quants

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import kquants  # noqa: E402

ROWS, COLS, SEED = 7, 96, 20240601
K_ROWS, K_COLS = 5, 512


def k_edge_cases(name: str, blocks: np.ndarray) -> np.ndarray:
    """Edge values in a few super-blocks: a zero and a subnormal f16 d, a
    subnormal dmin, the largest scales (63, and -128 for Q6_K)."""
    b = blocks.reshape(-1, kquants.BLOCK_BYTES[name]).copy()
    d_at = 208 if name == "Q6_K" else 0
    b[1, d_at:d_at + 2] = np.array([0x0000], dtype="<u2").view(np.uint8)      # d = 0
    b[2, d_at:d_at + 2] = np.array([0x0123], dtype="<u2").view(np.uint8)      # subnormal d
    if name == "Q6_K":
        b[3, 192] = 0x80                                                        # scale -128
        b[3, 193] = 0x7F                                                        # scale 127
    else:
        b[3, 2:4] = np.array([0x0201], dtype="<u2").view(np.uint8)            # subnormal dmin
        b[4, 4:16] = 0xFF                                                       # sc = m = 63
    return b.reshape(blocks.shape)


def main() -> None:
    root = pathlib.Path(__file__).resolve().parent.parent
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "tests" / "data" / "quant"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    # Rows of different magnitudes, and one block of tiny values (subnormal f16 scales).
    scale = np.array([1.0, 0.02, 3.5, 100.0, 1e-3, 0.5, 7.0], dtype=np.float32)[:, None]
    source = (rng.standard_normal((ROWS, COLS)).astype(np.float32) * scale).astype(np.float32)
    source[4, 32:64] *= np.float32(1e-3)
    source.tofile(out / "source.f32")
    meta = {
        "made_by": "tools/record_quant_refs.py",
        "gguf_version": metadata.version("gguf"),
        "numpy_version": np.__version__,
        "seed": SEED,
        "rows": ROWS,
        "cols": COLS,
        "source": "source.f32: numpy default_rng(seed).standard_normal((rows, cols)) * row scale",
        "types": {},
    }
    source_k = (rng.standard_normal((K_ROWS, K_COLS)).astype(np.float32) *
                scale[:K_ROWS]).astype(np.float32)
    source_k.tofile(out / "source_k.f32")
    meta["source_k"] = "source_k.f32: the same generator, continued, [k_rows, k_cols]"
    meta["k_rows"], meta["k_cols"] = K_ROWS, K_COLS
    for name, qt in (("q8_0", QT.Q8_0), ("q4_0", QT.Q4_0), ("q4_k", QT.Q4_K), ("q5_k", QT.Q5_K),
                     ("q6_k", QT.Q6_K)):
        src = source if name in ("q8_0", "q4_0") else source_k
        if src is source:
            blocks = quants.quantize(src, qt)
        else:
            blocks = k_edge_cases(name.upper(), kquants.quantize(src, name.upper()))
        deq = quants.dequantize(blocks, qt).astype(np.float32)
        assert deq.shape == src.shape
        blocks.tofile(out / f"{name}.blocks")
        deq.tofile(out / f"{name}.dequant.f32")
        meta["types"][name] = {
            "rows": int(src.shape[0]),
            "cols": int(src.shape[1]),
            "blocks": f"{name}.blocks",
            "blocks_bytes": int(blocks.nbytes),
            "dequant": f"{name}.dequant.f32",
            "max_abs_quant_error": float(np.max(np.abs(deq - src))),
        }
        print(f"{name}: {blocks.nbytes} bytes of blocks, max |dequant - source| "
              f"{meta['types'][name]['max_abs_quant_error']:.3g}", file=sys.stderr)
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
