# Elapsed wall time in plain bash (no bc): start=$(now_ns); ...; secs=$(seconds_since "$start")
# prints seconds with two decimals; under_seconds "$start" 11 is true while less has passed.
now_ns() { date +%s%N; }
seconds_since() {
  local ms=$((($(date +%s%N) - $1) / 1000000))
  printf '%d.%02d\n' $((ms / 1000)) $((ms % 1000 / 10))
}
under_seconds() { (($(date +%s%N) - $1 < $2 * 1000000000)); }
