#!/usr/bin/env bash
# Fetches llama.cpp's tokenizer test suite into a cache folder, once, and
# prints the folder: the vocabulary-only GGUFs models/ggml-vocab-NAME.gguf with
# their cases (.inp) and Hugging Face's ids for them (.out), as shipped in the
# llama-cpp-python source distribution on PyPI (about 76 MB; only those files
# are kept). The download is pinned by version and sha256.
#   scripts/get_llama_vocab.sh [DIR]
#   DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/tplm/llama-vocab-VERSION.
# Exit 0: ready. Exit 1: not fetched, the reason on stderr (offline, PyPI
# unreachable, checksum mismatch). A failure is remembered for 10 minutes so
# that parallel tests do not each wait for the network.
set -euo pipefail
VERSION=0.3.36
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
DIR=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/tplm/llama-vocab-$VERSION}

ready() { [[ -f $DIR/.complete ]]; }
if ready; then echo "$DIR"; exit 0; fi
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9  # one download; whoever comes meanwhile waits for it
if ready; then echo "$DIR"; exit 0; fi
if [[ -f $DIR.failed ]] && (($(date +%s) - $(stat -c %Y "$DIR.failed") < 600)); then
  echo "$(cat "$DIR.failed") (a recent try; delete $DIR.failed to try again now)" >&2
  exit 1
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP" "$DIR.part"' EXIT
echo "llama-cpp-python==$VERSION --hash=sha256:$SHA256" >"$TMP/requirements.txt"
# The source distribution (PyPI has no other); pip prepares its metadata in a
# build environment, whose own tools may come as wheels.
if ! out=$(python3 -m pip download --quiet --no-binary llama-cpp-python --no-deps --require-hashes \
  --timeout 20 --retries 1 -r "$TMP/requirements.txt" -d "$TMP" 2>&1); then
  reason="cannot download llama-cpp-python $VERSION from PyPI: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
  echo "$reason" >"$DIR.failed"
  echo "$reason" >&2
  exit 1
fi
mkdir -p "$DIR.part"
tar -xzf "$TMP/llama_cpp_python-$VERSION.tar.gz" -C "$DIR.part" --strip-components=4 \
  --wildcards "*/vendor/llama.cpp/models/ggml-vocab-*"
rm -rf "$DIR"
mv "$DIR.part" "$DIR"
touch "$DIR/.complete"
rm -f "$DIR.failed"
echo "$DIR"
