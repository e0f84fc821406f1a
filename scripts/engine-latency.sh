#!/usr/bin/env bash
# The engine's one-way latency against the ring's floor, in alternating rounds: each round runs
# `ringtop probe --json` (its relay round trip is the floor of a hand-off there and back) and then
# the `low-latency` profile headless for a few seconds (its consumer's p50 is what a user sees),
# so both see the same state of a machine that changes state between runs. One JSON line a
# round, then a summary line: the median of the per-round differences (engine p50 minus relay
# round-trip p50) with their spread, and in how many rounds the goal of docs/performance.md
# ("The engine's one-way latency": at most the relay round trip plus 40 ns) held. Each round also
# runs `probe` at the profile's own rate and ring capacity (`probe_at_profile_*`): its one-way is
# what the least code around the same ring gets at that rate, on the engine's clock (a consumer
# that has waited 10 µs notices a row later than one that waited 1 µs on the development VM, so
# the rate matters); `engine_minus_probe_at_profile_ns` is what the engine's own code adds.
#
#   scripts/engine-latency.sh [ROUNDS] [SECONDS]    # default 8 rounds of 3 s
#   scripts/engine-latency.sh --from DIR            # the rounds a bench bundle's run.sh saved
#
# RINGTOP names the binary (default: target/release/ringtop, built first by `cargo build`, so it
# is the binary users get, not the one `cargo test` may have left there). RINGTOP_B names
# a second build to compare: each round then also runs its profile, the two taking turns to go
# first, and reports its difference beside (`b_*`) and the per-round change (B minus A). Build
# both the same way (`cargo build --release --bin ringtop`): the binary `cargo test` builds from
# the same source has the dev-dependencies' features in its dependencies, and its engine p50 ran
# 3-13 ns apart from the other's in every round of one run. Needs python3 for the summary; every
# figure comes from ringtop's own JSON.
set -euo pipefail

# Paths given are taken from where the script was started, before it moves to the checkout.
absolute() { realpath -- "$1"; }
if [ "${1:-}" = --from ]; then
    work=$(absolute "${2:?--from needs the directory run.sh wrote}")
    rounds=$(find "$work" -maxdepth 1 -name 'engine-probe-[0-9]*.json' | wc -l)
    [ "$rounds" -gt 0 ] || { echo "engine-latency: no engine-probe-N.json in $work" >&2; exit 2; }
    seconds=
else
    rounds=${1:-8}
    seconds=${2:-3}
    a=${RINGTOP:+$(absolute "$RINGTOP")}
    b=${RINGTOP_B:+$(absolute "$RINGTOP_B")}
fi
cd "$(dirname "$0")/.."

# The `low-latency` profile's summary line (the last of a headless run) from binary $1 into $2.
run_profile() {
    "$1" run --headless --builtin low-latency --duration "${seconds}s" | tail -n 1 > "$2"
}

if [ -n "$seconds" ]; then
    if [ -z "$a" ]; then
        cargo build --release --bin ringtop >&2
        a=$PWD/target/release/ringtop
    fi
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    # The profile's rate and ring capacity, for a `probe` of the same shape.
    profile=$("$a" profile show low-latency)
    rate=$(sed -n 's/^rate = //p' <<< "$profile" | tr -d _)
    capacity=$(sed -n 's/^capacity = //p' <<< "$profile" | tr -d _)
    for round in $(seq 1 "$rounds"); do
        "$a" probe --json > "$work/engine-probe-$round.json"
        "$a" probe --json --rate "$rate" --capacity "$capacity" --latency-samples 100000 \
            > "$work/engine-probe-at-profile-$round.json"
        # With a second build, the two take turns going first.
        if [ -n "$b" ] && [ $((round % 2)) -eq 0 ]; then
            run_profile "$b" "$work/engine-run-b-$round.json"
        fi
        run_profile "$a" "$work/engine-run-$round.json"
        if [ -n "$b" ] && [ $((round % 2)) -eq 1 ]; then
            run_profile "$b" "$work/engine-run-b-$round.json"
        fi
    done
fi

python3 - "$work" "$rounds" <<'PY'
import json, os, statistics, sys

work, rounds = sys.argv[1], int(sys.argv[2])
GOAL_NS = 40


def consumer_p50(path, round):
    if not os.path.exists(path):
        sys.exit(f"engine-latency: round {round} has a probe but no run ({path})")
    with open(path) as f:
        run = json.load(f)
    consumers = [t for t in run["threads"] if t["role"] == "consumer"]
    if len(consumers) != 1:
        sys.exit(f"round {round}: expected one consumer, found {len(consumers)}")
    return consumers[0]["latency_total_ns"]["p50"]


def spread(values):
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


diffs, b_diffs, changes, over_probe = [], [], [], []
for round in range(1, rounds + 1):
    with open(f"{work}/engine-probe-{round}.json") as f:
        probe = json.load(f)
    relay = probe["relay_round_trip"]["p50_ns"]
    engine = consumer_p50(f"{work}/engine-run-{round}.json", round)
    line = {
        "round": round,
        "relay_round_trip_p50_ns": relay,
        "probe_one_way_p50_ns": probe["one_way_latency"]["p50_ns"],
        "engine_one_way_p50_ns": engine,
        "engine_minus_relay_ns": None if engine is None else engine - relay,
    }
    if engine is not None:
        diffs.append(engine - relay)
    at_profile = f"{work}/engine-probe-at-profile-{round}.json"
    if os.path.exists(at_profile):
        with open(at_profile) as f:
            probe_at_profile = json.load(f)["one_way_latency"]["p50_ns"]
        line["probe_at_profile_one_way_p50_ns"] = probe_at_profile
        over = None if engine is None else engine - probe_at_profile
        line["engine_minus_probe_at_profile_ns"] = over
        if over is not None:
            over_probe.append(over)
    b_path = f"{work}/engine-run-b-{round}.json"
    if os.path.exists(b_path):
        b_engine = consumer_p50(b_path, round)
        line["b_engine_one_way_p50_ns"] = b_engine
        line["b_engine_minus_relay_ns"] = None if b_engine is None else b_engine - relay
        if b_engine is not None:
            b_diffs.append(b_engine - relay)
            if engine is not None:
                changes.append(b_engine - engine)
    print(json.dumps(line))
summary = {
    "rounds": rounds,
    "timed_rounds": len(diffs),
    "engine_minus_relay_ns": spread(diffs),
    "goal_ns": GOAL_NS,
    "rounds_within_goal": sum(d <= GOAL_NS for d in diffs),
    "engine_minus_probe_at_profile_ns": spread(over_probe),
}
if b_diffs:
    summary["b_engine_minus_relay_ns"] = spread(b_diffs)
    summary["b_rounds_within_goal"] = sum(d <= GOAL_NS for d in b_diffs)
    summary["b_minus_a_ns"] = spread(changes)
print(json.dumps({"summary": summary}))
PY
