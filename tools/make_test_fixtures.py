#!/usr/bin/env python3
"""Makes every fixture model the tests use under OUT_DIR (placeholder: filled by the fixture generator)."""
import os
import sys

os.makedirs(sys.argv[1], exist_ok=True)
