"""The Python SDK's figures for `pnpm bench` (bench/src/py-bench.ts runs this, stdlib only).

Prints one JSON object: py_log_points_per_s (10-key dicts through finish()), the baseline
py_jsonl_points_per_s (the same loop writing one JSON line per call, as SwanLab 0.7 logs),
py_log_1000keys_call_ms (median) and py_train_overhead_ratio (1 ms of work and 100 keys a step,
logging on / off). Usage: python bench_log.py <workdir> [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

import swanlog

ROW_KEYS = 10


def row(i: int) -> dict:
    """The TS bench's 10-key dict (bench/src/bench-row.ts), built per call as a loop builds it."""
    return {
        "loss": i,
        "acc": 0.5,
        "lr": 0.001,
        "grad_norm": 1.5,
        "val_loss": i * 0.5,
        "val_acc": 0.25,
        "epoch": 3,
        "tokens": i * 4096,
        "throughput": 812.5,
        "mem": 0.75,
    }


def log_points_per_s(work: str, calls: int) -> float:
    run = swanlog.init(project="bench", logdir=os.path.join(work, "log"), mode="offline")
    log = run.log
    t0 = time.perf_counter()
    for i in range(calls):
        log(
            {
                "loss": i,
                "acc": 0.5,
                "lr": 0.001,
                "grad_norm": 1.5,
                "val_loss": i * 0.5,
                "val_acc": 0.25,
                "epoch": 3,
                "tokens": i * 4096,
                "throughput": 812.5,
                "mem": 0.75,
            }
        )
    run.finish()
    return calls * ROW_KEYS / (time.perf_counter() - t0)


def jsonl_points_per_s(work: str, calls: int) -> float:
    path = os.path.join(work, f"points-{time.time_ns()}.jsonl")
    dumps = json.dumps
    t0 = time.perf_counter()
    with open(path, "w", encoding="utf-8") as f:
        for i in range(calls):
            data = {
                "loss": i,
                "acc": 0.5,
                "lr": 0.001,
                "grad_norm": 1.5,
                "val_loss": i * 0.5,
                "val_acc": 0.25,
                "epoch": 3,
                "tokens": i * 4096,
                "throughput": 812.5,
                "mem": 0.75,
            }
            f.write(dumps({"step": i, "ts": time.time_ns() // 1_000_000, "data": data}) + "\n")
        f.flush()
        os.fsync(f.fileno())
    return calls * ROW_KEYS / (time.perf_counter() - t0)


def log_1000keys_call_ms(work: str) -> float:
    run = swanlog.init(project="bench", logdir=os.path.join(work, "wide"), mode="offline")
    data = {f"layer_{k}/grad_norm": float(k) for k in range(1000)}
    times = []
    for _ in range(2000):
        t0 = time.perf_counter()
        run.log(data)
        times.append(time.perf_counter() - t0)
    run.finish()
    return statistics.median(times[200:]) * 1000


def train_overhead_ratio(work: str, iterations: int) -> float:
    keys = [f"layer_{k}/loss" for k in range(100)]

    def loop(mode: str) -> float:
        run = swanlog.init(project="bench", logdir=os.path.join(work, "overhead"), mode=mode)
        sink = 0.0
        data = {}
        t0 = time.perf_counter()
        for i in range(iterations):
            end = time.perf_counter() + 0.001
            while time.perf_counter() < end:  # the training step
                sink += i**0.5
            for k in keys:
                data[k] = sink % 1
            run.log(data)
        per_second = iterations / (time.perf_counter() - t0)
        run.finish()
        return per_second

    on = off = 0.0
    for _ in range(3):
        off += loop("disabled")
        on += loop("offline")
    return on / off


def main() -> None:
    work = sys.argv[1]
    quick = "--quick" in sys.argv
    reps = 1 if quick else 3
    calls = 300_000
    out = {
        "py_log_points_per_s": round(max(log_points_per_s(work, calls) for _ in range(reps))),
        "py_jsonl_points_per_s": round(max(jsonl_points_per_s(work, calls) for _ in range(reps))),
        "py_log_1000keys_call_ms": round(log_1000keys_call_ms(work), 4),
        "py_train_overhead_ratio": round(train_overhead_ratio(work, 500 if quick else 1500), 4),
    }
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
