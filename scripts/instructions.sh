#!/usr/bin/env bash
# Instructions per item each ring's push and pop execute, on one thread under callgrind: the cost
# of the code alone, without the cache-line transfers that dominate a two-core run. Prints one
# JSON object. Needs valgrind (apt install valgrind).
#
#   scripts/instructions.sh            # 2 M items per case
#   ITEMS=500000 scripts/instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
items=${ITEMS:-2000000}
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 2; }
bin=$(cargo bench --bench rings --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))/\1/p')
[ -x "$bin" ] || { echo "instructions.sh: could not build the rings bench" >&2; exit 2; }

count() { # instructions callgrind collected for one case
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" --single-thread "$1" --items "$items" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

base=$(count baseline)
cases="spsc_u64/ringtop spsc_u64/ringtop_relay spsc_u64/rtrb spsc_u64/ringbuf spsc_u64/crossbeam
       spsc_batch/ringtop spsc_batch/rtrb spsc_batch/ringbuf"
printf '{"items": %s, "baseline_instructions": %s, "per_item": {' "$items" "$base"
sep=""
for c in $cases; do
  n=$(count "$c")
  printf '%s"%s": %s' "$sep" "$c" "$(awk -v n="$n" -v b="$base" -v i="$items" 'BEGIN { printf "%.2f", (n - b) / i }')"
  sep=", "
done
printf '}}\n'
