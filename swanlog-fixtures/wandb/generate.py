"""Writes the W&B fixtures of `swanlog import` with the real client in offline mode, and what
each run logged in swanlog's terms (expected.json: per key [step, value], after the step offset a
continued offline run gets).

    python3 -m venv /tmp/tbvenv
    /tmp/tbvenv/bin/pip install --no-deps wandb
    /tmp/tbvenv/bin/pip install click platformdirs pydantic pyyaml requests xxhash numpy \
        opentelemetry-api
    /tmp/tbvenv/bin/pip install --no-deps opentelemetry-sdk opentelemetry-proto \
        opentelemetry-exporter-otlp-proto-http opentelemetry-exporter-otlp-proto-common
    PYTHONPATH=swanlog-fixtures/wandb/semconv-stub /tmp/tbvenv/bin/python swanlog-fixtures/wandb/generate.py

wandb 0.30 imports opentelemetry-semantic-conventions, which the machine's package index lacks;
its telemetry is never exported offline, so a stand-in package whose every constant is a string
is enough to run it (semconv-stub/; the fixtures are generated once and committed). Only the `.wandb` files are
kept (wandb/<dir>/run-<id>.wandb): logs and files/ hold machine paths.

Runs:
  cont0001  two processes: explicit steps 0-4, then the same id again without steps: W&B's offline
            mode ignores resume, so _step restarts at 0 (swanlog offsets it by 5)
  cont0002  two processes with explicit steps 0-3, then 4-7 (no offset)
  nested01  nested dicts (keys joined by /), NaN and +-Infinity, a string and a histogram
            (skipped), nested config; ends with exit code 1
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import json, sys, wandb
spec = json.loads(sys.argv[1])
run = wandb.init(project="fixtures", id=spec["id"], name=spec.get("name"), config=spec.get("config"),
                 mode="offline", resume="allow", dir=spec["dir"])
for row in spec["rows"]:
    data = {k: (float(v) if v in ("nan", "inf", "-inf") else v) for k, v in row["data"].items()}
    if "nested" in row:
        data.update(row["nested"])
    if row.get("histogram"):
        import numpy as np
        data["hist"] = wandb.Histogram(np.arange(10))
    if "step" in row:
        run.log(data, step=row["step"])
    else:
        run.log(data)
run.finish(exit_code=spec.get("exit_code", 0))
"""


def process(work, spec):
    spec = dict(spec, dir=work)
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true")
    subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], check=True, env=env)
    time.sleep(1.1)  # the next directory's name carries the next second


def num(x):
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def main():
    work = tempfile.mkdtemp()
    expected = {}

    rows1 = [{"step": s, "data": {"loss": 1 / (s + 1), "acc": s / 10}} for s in range(5)]
    rows2 = [{"data": {"loss": 0.1 / (i + 1), "acc": 0.5 + i / 10}} for i in range(5)]
    process(work, {"id": "cont0001", "name": "continued", "config": {"lr": 0.01}, "rows": rows1})
    process(work, {"id": "cont0001", "rows": rows2})
    series = {"loss": [], "acc": []}
    for r in rows1:
        for k in series:
            series[k].append([r["step"], num(r["data"][k])])
    for i, r in enumerate(rows2):
        for k in series:
            series[k].append([5 + i, num(r["data"][k])])
    expected["cont0001"] = {"state": "finished", "sessions": 2, "offsets": 1, "series": series}

    rows1 = [{"step": s, "data": {"x": s * 2}} for s in range(4)]
    rows2 = [{"step": s, "data": {"x": s * 3}} for s in range(4, 8)]
    process(work, {"id": "cont0002", "rows": rows1})
    process(work, {"id": "cont0002", "rows": rows2})
    expected["cont0002"] = {
        "state": "finished",
        "sessions": 2,
        "offsets": 0,
        "series": {"x": [[r["step"], r["data"]["x"]] for r in rows1 + rows2]},
    }

    rows = [
        {"step": 0, "data": {"plain": 1.5, "edge": "nan"}, "nested": {"train": {"loss": 0.9, "acc": {"top1": 0.1}}}},
        {"step": 1, "data": {"plain": 2.5, "edge": "inf", "note": "a string"}, "histogram": True},
        {"step": 2, "data": {"plain": 3.5, "edge": "-inf"}, "nested": {"train": {"loss": 0.7, "acc": {"top1": 0.3}}}},
    ]
    process(
        work,
        {"id": "nested01", "config": {"model": {"depth": 4, "act": "relu"}, "lr": 0.1}, "rows": rows, "exit_code": 1},
    )
    expected["nested01"] = {
        "state": "crashed",
        "sessions": 1,
        "offsets": 0,
        "config": {"model": {"depth": 4, "act": "relu"}, "lr": 0.1},
        "series": {
            "plain": [[0, 1.5], [1, 2.5], [2, 3.5]],
            "edge": [[0, "NaN"], [1, "Infinity"], [2, "-Infinity"]],
            "train/loss": [[0, 0.9], [2, 0.7]],
            "train/acc/top1": [[0, 0.1], [2, 0.3]],
        },
        "skipped": {"nonNumeric": 1, "histogram": 1},
    }

    out = os.path.join(HERE, "wandb")
    shutil.rmtree(out, ignore_errors=True)
    for d in sorted(os.listdir(os.path.join(work, "wandb"))):
        src = os.path.join(work, "wandb", d)
        if os.path.islink(src) or not d.startswith("offline-run-"):
            continue
        for f in os.listdir(src):
            if f.endswith(".wandb"):
                os.makedirs(os.path.join(out, d))
                shutil.copy(os.path.join(src, f), os.path.join(out, d, f))
    os.symlink(sorted(os.listdir(out))[-1], os.path.join(out, "latest-run"))
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump({"note": "what generate.py logged, in swanlog's terms", "runs": expected}, f, indent=1)
        f.write("\n")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
