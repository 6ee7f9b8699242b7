#!/usr/bin/env bash
# Fetches a part of llama.cpp into a cache folder, once, and prints the folder.
# llama.cpp comes as shipped in the llama-cpp-python source distribution on
# PyPI, pinned by version and sha256; the download (about 76 MB) is kept in the
# cache, so a second part needs no network.
#   scripts/get_llama_cpp_files.sh vocab [DIR]
#       the tokenizer test suite: the vocabulary-only GGUFs
#       models/ggml-vocab-NAME.gguf with their cases (.inp) and Hugging Face's
#       ids for them (.out), as DIR/ggml-vocab-*
#   scripts/get_llama_cpp_files.sh jinja [DIR]
#       the Jinja engine llama.cpp renders chat templates with (MIT):
#       DIR/common/jinja/*, DIR/common/json.*, DIR/common/unicode.*,
#       DIR/LICENSE, and the real models' templates DIR/models/templates/*.jinja
#   DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/tplm/llama-PART-VERSION.
# Offline, put llama_cpp_python-VERSION.tar.gz (from PyPI) in the cache folder
# ${XDG_CACHE_HOME:-~/.cache}/tplm yourself.
# Exit 0: ready. Exit 1: not fetched, the reason on stderr (offline, PyPI
# unreachable, checksum mismatch). A failure is remembered for 10 minutes so
# that parallel tests and configures do not each wait for the network.
set -euo pipefail
VERSION=0.3.36
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
PART=${1:-}
case $PART in
  vocab) PATTERNS=("*/vendor/llama.cpp/models/ggml-vocab-*"); STRIP=4 ;;
  jinja)
    PATTERNS=("*/vendor/llama.cpp/LICENSE" "*/vendor/llama.cpp/common/jinja/*"
      "*/vendor/llama.cpp/common/json.*" "*/vendor/llama.cpp/common/unicode.*"
      "*/vendor/llama.cpp/models/templates/*.jinja")
    STRIP=3 ;;
  *) echo "usage: $0 vocab|jinja [DIR]" >&2; exit 2 ;;
esac
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/tplm
DIR=${2:-$CACHE/llama-$PART-$VERSION}
SDIST=$CACHE/llama_cpp_python-$VERSION.tar.gz

ready() { [[ -f $DIR/.complete ]]; }
if ready; then echo "$DIR"; exit 0; fi
mkdir -p "$CACHE" "$(dirname "$DIR")"
exec 9>"$SDIST.lock"
flock 9  # one download and one extraction at a time; whoever comes meanwhile waits
if ready; then echo "$DIR"; exit 0; fi
if [[ ! -f $SDIST ]]; then
  if [[ -f $SDIST.failed ]] && (($(date +%s) - $(stat -c %Y "$SDIST.failed") < 600)); then
    echo "$(cat "$SDIST.failed") (a recent try; delete $SDIST.failed to try again now)" >&2
    exit 1
  fi
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  echo "llama-cpp-python==$VERSION --hash=sha256:$SHA256" >"$TMP/requirements.txt"
  # The source distribution (PyPI has no other); pip prepares its metadata in a
  # build environment, whose own tools may come as wheels.
  if ! out=$(python3 -m pip download --quiet --no-binary llama-cpp-python --no-deps \
    --require-hashes --timeout 20 --retries 1 -r "$TMP/requirements.txt" -d "$TMP" 2>&1); then
    reason="cannot download llama-cpp-python $VERSION from PyPI: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
    reason+="(offline: put llama_cpp_python-$VERSION.tar.gz in $CACHE)"
    echo "$reason" >"$SDIST.failed"
    echo "$reason" >&2
    exit 1
  fi
  mv "$TMP/llama_cpp_python-$VERSION.tar.gz" "$SDIST"
  rm -f "$SDIST.failed"
fi
if ! echo "$SHA256  $SDIST" | sha256sum --check --status; then
  echo "$SDIST is not llama-cpp-python $VERSION's source distribution (sha256 differs); delete it" >&2
  exit 1
fi
rm -rf "$DIR.part"
mkdir -p "$DIR.part"
trap 'rm -rf "$DIR.part"; [[ -n ${TMP:-} ]] && rm -rf "$TMP"' EXIT
tar -xzf "$SDIST" -C "$DIR.part" --strip-components=$STRIP --wildcards "${PATTERNS[@]}"
rm -rf "$DIR"
mv "$DIR.part" "$DIR"
touch "$DIR/.complete"
echo "$DIR"
