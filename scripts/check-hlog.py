#!/usr/bin/env python3
"""Reads a ringtop HdrHistogram interval log with the Python HdrHistogram package (`pip install
hdrhistogram`), as another tool would, and checks it holds every sample the summary counts for
each consumer (exactly), in intervals that are not empty.

usage: check-hlog.py FILE.hlog SUMMARY.json
"""
import json
import sys

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader


def main() -> int:
    path, summary_path = sys.argv[1], sys.argv[2]
    summary = json.loads(open(summary_path).read().splitlines()[-1])
    consumers = {
        t["name"]: t["latency_total_ns"]["count"]
        for t in summary["threads"]
        if t["role"] == "consumer"
    }
    reader = HistogramLogReader(path, HdrHistogram(1, 60 * 10**9, 3))
    counts = {}
    while True:
        histogram = reader.get_next_interval_histogram()
        if histogram is None:
            break
        tag = histogram.get_tag()
        if histogram.get_total_count() == 0:
            print(f"{tag}: an empty interval in the log")
            return 1
        counts[tag] = counts.get(tag, 0) + histogram.get_total_count()
    if set(counts) != set(consumers):
        print(f"tags {sorted(counts)} but consumers {sorted(consumers)}")
        return 1
    for name, count in counts.items():
        if count != consumers[name]:
            print(f"{name}: {count} samples in the log, {consumers[name]} in the summary")
            return 1
    print(f"{path}: {len(counts)} consumer(s), samples {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
