#!/usr/bin/env bash
# Packs the benchmarks for a machine that has no Rust toolchain and no hwloc: builds `rings`,
# `remote` and `codecs` (with the iceoryx2 contender unless FEATURES says otherwise) and the
# `ringtop` binary, strips them, and copies them with the shared libraries they load beyond the C
# library (hwloc, udev) into target/bench-bundle/ (a few MiB), beside a run.sh that runs them.
#
#   scripts/bench-bundle.sh              # then copy target/bench-bundle/ to the other machine
#   target/bench-bundle/run.sh OUT_DIR   # there: each bench's JSON in OUT_DIR, a log beside it
#
# run.sh takes a few minutes in all: `rings` (ping-pong, spsc_u64 and spsc_batch only), `remote`
# (the TCP cases, then the shared-memory ones), `codecs`, `ringtop probe`, six rounds of `probe`
# and the `low-latency` profile (the engine's one-way latency, about 35 s), and six pairs of the
# `throughput` profile without and with prefetching (about 25 s). Extra arguments after OUT_DIR
# (`--quick`) go to every bench.
set -euo pipefail
cd "$(dirname "$0")/.."

features=${FEATURES-bench-iceoryx2}
bundle=target/bench-bundle
rm -rf "$bundle"
mkdir -p "$bundle/lib"

# The benches' executables, as cargo reports them.
cargo build --release --bin ringtop
cargo bench --no-run ${features:+--features "$features"} --bench rings --bench remote \
    --bench codecs --message-format=json |
    python3 -c '
import json, sys
for line in sys.stdin:
    try:
        message = json.loads(line)
    except ValueError:
        continue
    if message.get("reason") == "compiler-artifact" and message.get("executable") \
            and "bench" in message["target"]["kind"]:
        print(message["target"]["name"], message["executable"])
' | while read -r name path; do
    cp "$path" "$bundle/$name"
done
cp target/release/ringtop "$bundle/ringtop"
for exe in rings remote codecs ringtop; do
    [ -x "$bundle/$exe" ] || { echo "bench-bundle: $exe was not built" >&2; exit 1; }
    strip "$bundle/$exe"
done

# hwloc and udev (hwloc loads it), from wherever the loader finds them here.
for lib in libhwloc.so.15 libudev.so.1; do
    found=$(ldd "$bundle/ringtop" | awk -v lib="$lib" '$1 == lib { print $3 }')
    [ -n "$found" ] || { echo "bench-bundle: ringtop does not load $lib here" >&2; exit 1; }
    cp -L "$found" "$bundle/lib/$lib"
done

cat > "$bundle/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs the packed benchmarks: each one's JSON into OUT_DIR (default: results/ beside this
# script), everything they print on stderr into OUT_DIR/log. A bench that fails is reported and
# the rest still run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/results}
shift || true
mkdir -p "$out"
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
failed=0
run() {
    local name=$1
    shift
    echo "== $name: $*" >> "$out/log"
    if ! "$@" > "$out/$name.json" 2>> "$out/log"; then
        echo "run.sh: $name failed (see $out/log)" >&2
        failed=1
    fi
}
run rings "$here/rings" --bench --json --only pingpong,spsc_u64,spsc_batch "$@"
run remote-tcp "$here/remote" --bench --json --only tcp "$@"
run remote-shm "$here/remote" --bench --json --only shm "$@"
run codecs "$here/codecs" --bench --json "$@"
run probe "$here/ringtop" probe --json
# The engine's one-way latency against the relay round trip, alternating: six rounds of `probe`
# (as it comes, and at the profile's rate and capacity), then the `low-latency` profile's summary
# line (`scripts/engine-latency.sh --from OUT_DIR` sums them up where the checkout is).
profile=$("$here/ringtop" profile show low-latency)
rate=$(sed -n 's/^rate = //p' <<< "$profile" | tr -d _)
capacity=$(sed -n 's/^capacity = //p' <<< "$profile" | tr -d _)
for round in 1 2 3 4 5 6; do
    run "engine-probe-$round" "$here/ringtop" probe --json
    run "engine-probe-at-profile-$round" "$here/ringtop" probe --json --rate "$rate" \
        --capacity "$capacity" --latency-samples 100000
    run "engine-run-$round" bash -c \
        '"$1" run --headless --builtin low-latency --duration 3s | tail -n 1' _ "$here/ringtop"
done
# Whether prefetching pays in the engine there: the `throughput` profile as built in (no
# prefetching) and with a distance of 8, alternating, six pairs of 2 s (each summary line in
# throughput-pf0-N.json and throughput-pf8-N.json; compare `totals.rows_per_s` pair by pair).
throughput=$("$here/ringtop" profile show throughput)
printf '%s\n' "$throughput" > "$out/throughput-pf0.toml"
printf '%s\n[prefetch]\ndistance = 8\n' "$throughput" > "$out/throughput-pf8.toml"
for round in 1 2 3 4 5 6; do
    for distance in 0 8; do
        run "throughput-pf$distance-$round" bash -c \
            '"$1" run --headless --profile "$2" --duration 2s | tail -n 1' _ "$here/ringtop" \
            "$out/throughput-pf$distance.toml"
    done
done
nproc > "$out/nproc"
lscpu > "$out/lscpu" 2> /dev/null || true
exit "$failed"
RUN
chmod +x "$bundle/run.sh"
du -sh "$bundle"
