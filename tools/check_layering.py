#!/usr/bin/env python3
"""Checks the layering of DESIGN.md on every `#include "..."` under a source tree.

The parts, in order of dependency: base, format, parallel, backend, model,
runtime, app. A part may include itself and the parts before it, never one
after it. Only backend/ may include a concrete backend (backend/cpu/...,
backend/cuda/...): everything else asks for a Backend by kind.

Usage: check_layering.py [SRC_DIR]   (default: the repository's src/)
Prints each violation as FILE:LINE: why, and exits 1 when there is one.
"""
import os
import re
import sys

PARTS = ["base", "format", "parallel", "backend", "model", "runtime", "app"]
CONCRETE_BACKENDS = ("backend/cpu/", "backend/cuda/")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def part_of(path: str):
    first = path.split("/", 1)[0]
    return first if first in PARTS else None


def violations(src: str):
    found = []
    for root, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".hpp", ".cpp", ".h", ".cu", ".cuh")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src).replace(os.sep, "/")
            me = part_of(rel)
            if me is None:
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    inc = m.group(1)
                    them = part_of(inc)
                    if them is None:
                        continue
                    where = f"{rel}:{lineno}"
                    if PARTS.index(them) > PARTS.index(me):
                        found.append(f'{where}: {me}/ includes "{inc}", a part above it '
                                     f"(order: {' -> '.join(PARTS)})")
                    elif inc.startswith(CONCRETE_BACKENDS) and me != "backend":
                        found.append(f'{where}: {me}/ includes the concrete backend "{inc}"; '
                                     "use make_backend (backend/backend.hpp)")
    return found


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src")
    found = violations(src)
    for v in found:
        print(v)
    if found:
        print(f"check_layering: {len(found)} violation(s)")
        return 1
    print(f"check_layering: {os.path.normpath(src)} follows {' -> '.join(PARTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
