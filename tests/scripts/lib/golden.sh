# check_golden COMMAND...: runs every stories260K golden case as
#   COMMAND -m MODEL --tokenizer TOK -p PROMPT -n N --json
# (COMMAND ends with "tplm run" and any options, e.g. a launcher in front) and
# fails, naming the first differing token, unless prompt + generated tokens
# equal the golden's. Needs MODEL_DIR, GOLDEN_DIR and fail() from the caller.
check_golden() {
  local golden prompt n out
  for golden in "$GOLDEN_DIR"/*.json; do
    prompt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["prompt"])' "$golden")
    n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["tokens"]) - d["prompt_tokens"])' "$golden")
    out=$("$@" -m "$MODEL_DIR/stories260K.bin" --tokenizer "$MODEL_DIR/tok512.bin" \
      -p "$prompt" -n "$n" --json 2>/dev/null) || fail "$* on $(basename "$golden"): tplm failed"
    python3 - "$golden" "$out" "$*" <<'PY' || exit 1
import json, sys
want = json.load(open(sys.argv[1]))["tokens"]
got = json.loads(sys.argv[2])
got = got["prompt_tokens"] + got["generated_tokens"]
name = sys.argv[1].rsplit("/", 1)[-1]
if got != want:
    i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    print(f"FAILED: {sys.argv[3]} {name}: tokens differ at {i}: got {got[i:i+5]} want {want[i:i+5]}")
    sys.exit(1)
print(f"ok: {sys.argv[3]} {name}: {len(got)} tokens match")
PY
  done
}
