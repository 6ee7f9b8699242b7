#!/usr/bin/env python3
"""Records reference Q8_0 / Q4_0 blocks made by llama.cpp's own Python code
(the `gguf` package: gguf.quants.quantize / dequantize), so that the C++
kernels are checked against llama.cpp's block layout rather than against
themselves.

Writes into tests/data/quant/ (or the folder given as argument):
  source.f32          the float32 matrix that was quantized, [ROWS, COLS] row-major
  <type>.blocks       gguf.quants.quantize(source, type): raw blocks, row after row
  <type>.dequant.f32  gguf.quants.dequantize(blocks, type): float32 [ROWS, COLS]
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

ROWS, COLS, SEED = 7, 96, 20240601


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
    for name, qt in (("q8_0", QT.Q8_0), ("q4_0", QT.Q4_0)):
        blocks = quants.quantize(source, qt)
        deq = quants.dequantize(blocks, qt).astype(np.float32)
        assert deq.shape == source.shape
        blocks.tofile(out / f"{name}.blocks")
        deq.tofile(out / f"{name}.dequant.f32")
        meta["types"][name] = {
            "blocks": f"{name}.blocks",
            "blocks_bytes": int(blocks.nbytes),
            "dequant": f"{name}.dequant.f32",
            "max_abs_quant_error": float(np.max(np.abs(deq - source))),
        }
        print(f"{name}: {blocks.nbytes} bytes of blocks, max |dequant - source| "
              f"{meta['types'][name]['max_abs_quant_error']:.3g}", file=sys.stderr)
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
