"""The SDK comparison benchmark's timing helper and its RESULTS.md section handling."""
from __future__ import annotations

import threading

from benchmarks._throughput import rate
from benchmarks.sdk4_compare import MARK_END, MARK_START, THREADS, WORKLOADS, record, table


def test_rate_counts_calls_of_every_thread():
    calls = []
    lock = threading.Lock()

    def work():
        with lock:
            calls.append(1)

    measured = rate([work, work, work], seconds=0.05, per_call=100)
    assert measured > 0
    assert len(calls) >= 3 * 30  # warm-up plus at least one timed round of 10 per thread


def test_table_checks_each_ratio_against_its_target():
    classic = {f"{name}/{t}": 80.0 for name, _, _ in WORKLOADS for t in THREADS}
    sdk4 = {f"{name}/{t}": 100.0 for name, _, _ in WORKLOADS for t in THREADS}
    rows = table(classic, sdk4)[2:]
    assert len(rows) == len(WORKLOADS) * len(THREADS)
    assert all("0.80x" in row for row in rows)
    for row in rows:
        batched = "_multi" in row
        assert ("MISSED" in row) == batched  # 0.8x meets the 0.7x single target only


def test_record_replaces_only_its_own_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nother benchmark figures\n")
    record(["| first |"], results)
    record(["| second |"], results)
    text = results.read_text()
    assert text.count(MARK_START) == 1 and text.count(MARK_END) == 1
    assert "other benchmark figures" in text and "| second |" in text and "| first |" not in text
