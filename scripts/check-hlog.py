#!/usr/bin/env python3
"""Reads a ringtop HdrHistogram interval log with the Python HdrHistogram package (`pip install
hdrhistogram`), as another tool would, and checks it against the run's summary, consumer by
consumer: every sample the summary counts is in the log (exactly), in intervals that are not empty,
and the percentiles the summary gives over the whole run (p50 to p99.99, and the max) are the ones
Python's HdrHistogram finds in the log's intervals added together.

The two libraries round a percentile's rank to a sample differently (ringtop's Rust HdrHistogram
takes the ceiling of q × count, Python's rounds p / 100 × count to the nearest), and in a sparse
tail the samples at two neighbouring ranks can be buckets apart. So each percentile is looked up
in Python at the rank ringtop's rule gives, and must then be the same value exactly; the max to a
bucket (0.1 %, the histograms' precision).

For a run that took no `reset_histograms` command: after one, the summary counts from the reset
and the log from the start.

usage: check-hlog.py FILE.hlog SUMMARY.json
"""
import json
import math
import sys

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

# The histograms' bounds and precision, as ringtop records them (`metrics/latency.rs`).
LOWEST, HIGHEST, DIGITS = 1, 60 * 10**9, 3
# The summary's percentiles, by its names.
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9, "p9999": 99.99}


def within_a_bucket(ours: int, theirs: int) -> bool:
    """Equal, or apart by at most the resolution of 3 significant digits at that magnitude."""
    return abs(ours - theirs) <= max(ours, theirs) / 10**DIGITS


def at_rust_rank(histogram: HdrHistogram, percentile: float) -> int:
    """The value Python's HdrHistogram gives for the sample at the rank the Rust crate takes for
    `percentile`: ceil(q × count) with q = percentile / 100 in the same double arithmetic, at
    least 1. Python finds the sample at round(p / 100 × count), so it is asked for the percentile
    whose rank is exactly that one."""
    count = histogram.get_total_count()
    quantile = {50.0: 0.50, 90.0: 0.90, 99.0: 0.99, 99.9: 0.999, 99.99: 0.9999}[percentile]
    rank = max(math.ceil(quantile * float(count)), 1)
    return histogram.get_value_at_percentile(rank * 100.0 / count)


def main() -> int:
    path, summary_path = sys.argv[1], sys.argv[2]
    summary = json.loads(open(summary_path).read().splitlines()[-1])
    consumers = {
        t["name"]: t["latency_total_ns"] for t in summary["threads"] if t["role"] == "consumer"
    }
    reader = HistogramLogReader(path, HdrHistogram(LOWEST, HIGHEST, DIGITS))
    merged = {}
    while True:
        histogram = reader.get_next_interval_histogram()
        if histogram is None:
            break
        tag = histogram.get_tag()
        if histogram.get_total_count() == 0:
            print(f"{tag}: an empty interval in the log")
            return 1
        if tag not in merged:
            merged[tag] = HdrHistogram(LOWEST, HIGHEST, DIGITS)
        merged[tag].add(histogram)
    if set(merged) != set(consumers):
        print(f"tags {sorted(merged)} but consumers {sorted(consumers)}")
        return 1
    for name, histogram in merged.items():
        said = consumers[name]
        count = histogram.get_total_count()
        if count != said["count"]:
            print(f"{name}: {count} samples in the log, {said['count']} in the summary")
            return 1
        found = {key: at_rust_rank(histogram, p) for key, p in PERCENTILES.items()}
        for key, value in found.items():
            if said[key] != value:
                print(f"{name}: {key} {said[key]} ns in the summary, {value} ns in the log")
                return 1
        found["max"] = histogram.get_max_value()
        if not within_a_bucket(said["max"], found["max"]):
            print(f"{name}: max {said['max']} ns in the summary, {found['max']} ns in the log")
            return 1
        print(f"{path}: {name}: {count} samples; {found} ns, the summary's (the max to a bucket)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
