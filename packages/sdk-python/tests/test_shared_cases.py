"""The shared table of SDK cases (packages/sdk-cases/cases.json), played against the Python SDK.
The TS SDK plays the same table (packages/sdk/src/shared-cases.test.ts), so both behave alike."""

from __future__ import annotations

import json
import math
import os
import re
import warnings

import pytest
from conftest import REPO, cli, export, needs_ts

import swanlog
from swanlog import SwanlogError, SwanlogWarning

CASES_FILE = os.path.join(REPO, "packages", "sdk-cases", "cases.json")
TABLE = json.load(open(CASES_FILE, encoding="utf-8"))
assert TABLE["schema"] == 1, "the shared table changed shape"
ENV_PREFIXES = ("SWANLOG_", "SWANLAB_")

pytestmark = needs_ts


def decode(value):
    """JSON data of the table as Python values: {"$number": "NaN"} is float('nan')."""
    if isinstance(value, dict):
        if set(value) == {"$number"}:
            return float(value["$number"].replace("Infinity", "inf"))
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["name"] for c in TABLE["cases"]])
def test_shared_case(case, logdir, monkeypatch):
    handles: dict[str, swanlog.Run] = {}
    latest = None
    for i, op in enumerate(case["ops"]):
        where = f"op {i} ({op['op']})"
        expect = op.get("expect", {})
        kind = op["op"]
        label = op.get("run", "a" if kind == "init" else latest)
        run = handles.get(label)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if kind == "init":
                    for name in list(os.environ):
                        if name.startswith(ENV_PREFIXES):
                            monkeypatch.delenv(name)
                    for name, value in op.get("env", {}).items():
                        monkeypatch.setenv(name, value)
                    options = decode(op.get("options", {}))
                    run = swanlog.init(logdir=logdir, **options)
                    handles[label] = run
                    latest = label
                elif kind == "log":
                    if "step" in op:
                        run.log(decode(op["data"]), op["step"])
                    else:
                        run.log(decode(op["data"]))
                elif kind == "flush":
                    run.flush()
                elif kind == "finish":
                    run.finish()
                else:
                    raise AssertionError(f"unknown op {kind}")
                error = None
            except SwanlogError as e:
                error = e
        if "error" in expect:
            assert error is not None, f"{where}: expected {expect['error']}, nothing was raised"
            assert error.code == expect["error"], f"{where}: {error.code}: {error.message}"
            for part in expect.get("message_includes", []):
                assert part in error.message, f"{where}: {part!r} not in {error.message!r}"
        elif error is not None:
            raise AssertionError(f"{where}: raised {error.code}: {error.message}")
        if "id" in expect:
            assert run.id == expect["id"], where
        if expect.get("id_generated"):
            assert re.fullmatch(r"[0-9a-z]{21}", run.id), where
        if "resumed" in expect:
            assert run.resumed == expect["resumed"], where
        if "step" in expect:
            assert run is not None and run.step == expect["step"], f"{where}: step {run.step if run else None}"
        if "config" in expect:
            assert run.config == expect["config"], where
        if "warnings" in expect:
            keys = sorted(str(w.message.key) for w in caught if isinstance(w.message, SwanlogWarning) and w.message.key is not None)
            assert keys == sorted(expect["warnings"]), f"{where}: warned about {keys}"
    final = case.get("expect", {})
    if "run_dirs" in final:
        count = len([n for n in os.listdir(logdir) if n.startswith("run-")]) if os.path.isdir(logdir) else 0
        assert count == final["run_dirs"]
    for label, want in final.get("runs", {}).items():
        check_run_dir(handles[label].dir, want)


def check_run_dir(run_dir: str, want: dict) -> None:
    if "points" in want:
        got: dict = {}
        for p in export(run_dir):
            got.setdefault(p["key"], []).append([p["step"], p["value"]])
        assert set(got) == set(want["points"]), f"keys {sorted(got)}"
        for key, points in want["points"].items():
            assert len(got[key]) == len(points) and all(
                g[0] == w[0] and same(g[1], w[1]) for g, w in zip(got[key], points)
            ), f"{key}: {got[key]} != {points}"
    keys = ("config", "config_revisions", "segments", "segment_from_steps", "state")
    if any(k in want for k in keys):
        shown = json.loads(cli("show", run_dir, "--json").stdout)
        if "config" in want:
            assert shown["config"] == want["config"]
        if "config_revisions" in want:
            assert len(shown["configRevisions"]) == want["config_revisions"]
        if "segments" in want:
            assert len(shown["segments"]) == want["segments"]
        if "segment_from_steps" in want:
            assert [s["fromStep"] for s in shown["segments"]] == want["segment_from_steps"]
        if "state" in want:
            assert shown["state"] == want["state"]
