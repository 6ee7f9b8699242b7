#!/usr/bin/env bash
# scripts/get_model.sh against a local http.server on 127.0.0.1 (never the real
# hub): a good download, a corrupted file (sha256 mismatch, nothing left), and
# a server that is down (offline message, non-zero exit).
set -u
fail() { echo "test_download: FAIL: $*" >&2; exit 1; }
SRC=${TPLM_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MODELS=${TPLM_SHARED_DIR:-$SRC/../shared}/models/stories260K
[[ -f $MODELS/stories260K.bin && -f $MODELS/tok512.bin ]] ||
  { echo "test_download: skipped: $MODELS has no stories260K.bin/tok512.bin to serve"; exit 77; }
TMP=$(mktemp -d)
SERVER_PID=
cleanup() { [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
serve() {  # serve DIR: http.server on 127.0.0.1 only, waits until it answers
  PORT=$(free_port)
  python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$1" >"$TMP/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/', timeout=1)" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "the local http.server did not start: $(cat "$TMP/server.log")"
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=; }
get() { TPLM_MODEL_BASE_URL=http://127.0.0.1:$PORT "$SRC/scripts/get_model.sh" "$1" 2>&1; }

# 1. A good download: both files arrive, with the published checksums and a progress bar.
mkdir -p "$TMP/good/stories260K"
cp "$MODELS/stories260K.bin" "$MODELS/tok512.bin" "$TMP/good/stories260K/"
serve "$TMP/good"
out=$(get "$TMP/dest1") || fail "good download exited non-zero: $out"
cmp -s "$TMP/dest1/stories260K.bin" "$MODELS/stories260K.bin" || fail "stories260K.bin differs"
cmp -s "$TMP/dest1/tok512.bin" "$MODELS/tok512.bin" || fail "tok512.bin differs"
grep -q "downloading http://127.0.0.1:$PORT/stories260K/stories260K.bin" <<<"$out" || fail "no download line: $out"
grep -q "1056540/1056540 bytes" <<<"$out" || fail "no progress display: $out"
grep -q '"GET /stories260K/tok512.bin' "$TMP/server.log" || fail "the server never saw the request"
# A second call finds the files and downloads nothing.
out=$(get "$TMP/dest1") || fail "second call failed: $out"
grep -q "downloading" <<<"$out" && fail "second call downloaded again: $out"
stop

# 2. A corrupted file: sha256 mismatch named, the file (and its .part) removed.
mkdir -p "$TMP/bad/stories260K"
cp "$MODELS/stories260K.bin" "$MODELS/tok512.bin" "$TMP/bad/stories260K/"
printf 'X' | dd of="$TMP/bad/stories260K/stories260K.bin" bs=1 seek=1000 conv=notrunc status=none
serve "$TMP/bad"
out=$(get "$TMP/dest2") && fail "a corrupted file was accepted: $out"
grep -q "sha256 mismatch for stories260K.bin" <<<"$out" || fail "no mismatch message: $out"
[[ ! -e $TMP/dest2/stories260K.bin && ! -e $TMP/dest2/stories260K.bin.part ]] ||
  fail "the corrupted file was left in $TMP/dest2"
stop

# 3. The server is down: an offline message and a non-zero exit, nothing left.
out=$(get "$TMP/dest3"); rc=$?
[[ $rc -ne 0 ]] || fail "download from a dead server exited 0: $out"
grep -q "cannot reach http://127.0.0.1:$PORT/stories260K/stories260K.bin" <<<"$out" || fail "no offline message: $out"
grep -q "offline" <<<"$out" || fail "the message does not say offline: $out"
[[ -z $(ls -A "$TMP/dest3" 2>/dev/null) ]] || fail "files left after a failed download: $(ls "$TMP/dest3")"

# 4. A file missing on the server: the HTTP status is named.
mkdir -p "$TMP/empty/stories260K"
serve "$TMP/empty"
out=$(get "$TMP/dest4") && fail "a missing file was accepted"
grep -q "HTTP 404" <<<"$out" || fail "no 404 message: $out"
stop
echo "test_download: all passed"
