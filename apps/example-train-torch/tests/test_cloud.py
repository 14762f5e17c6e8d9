"""Cloud mode against a real `swanlog server` (port 0): the curves reach the server while the
trainer lives, and a SIGKILL + --resume continues the same experiment there, ending with the
reference's curves."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from conftest import CLI_JS, NODE, PER_EPOCH, Trainer, differences, outcome, train_to_end, write_config


@pytest.fixture
def server(tmp_path):
    data = str(tmp_path / "server")
    made = subprocess.run([NODE, CLI_JS, "server", "key", "create", "--data", data, "--workspace", "team"], capture_output=True, text=True, timeout=60, check=True)
    key = made.stdout.strip().split()[-1]
    proc = subprocess.Popen([NODE, CLI_JS, "server", "--data", data, "--port", "0"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("listening on "), line
    yield line.split()[-1], key
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def cli_on_path(tmp_path):
    """`swanlog` on PATH (cloud mode starts `swanlog sync --watch` beside the trainer)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "swanlog"
    script.write_text(f'#!/bin/sh\nexec {NODE} {CLI_JS} "$@"\n')
    script.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def get(url: str, key: str, path: str):
    req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def served_curve(url: str, key: str, run_id: str, name: str) -> list[tuple[int, float]]:
    body = get(url, key, f"/api/v1/experiments/{run_id}/metrics/{urllib.parse.quote(name, safe='')}")
    return [(p["step"], p["value"]) for p in body["points"]]


def wait_for(fn, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = fn()
            if value:
                return value
        except urllib.error.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.2)


def test_cloud_mode_kill_and_resume_continue_the_same_experiment_on_the_server(reference, server, cli_on_path, tmp_path):
    url, key = server
    exp = str(tmp_path / "exp")
    cfg = write_config(exp, mode="cloud", host=url)
    env = {"SWANLOG_API_KEY": key, "PATH": cli_on_path}
    t = Trainer(cfg, resume=False, env=env)
    assert t.read_until("epoch 5 ") is not None, t.lines + [t.stderr]
    run_id = t.run_id
    # Stopped, not dead: what the server shows now came while the trainer lived.
    t.proc.send_signal(signal.SIGSTOP)
    want = reference.outcome["swanlog"]
    upto5 = [p for p in want["val/loss"] if p[0] <= 5 * PER_EPOCH]
    wait_for(lambda: served_curve(url, key, run_id, "val/loss")[: len(upto5)] == upto5)
    assert t.proc.poll() is None
    t.kill()
    resumed = train_to_end(cfg, resume=True, env=env)
    assert f"epoch_004.pt (epoch 4, step {4 * PER_EPOCH}) at epoch 5" in resumed.lines[0], resumed.lines
    assert resumed.run_id == run_id
    exp_info = wait_for(lambda: (e := get(url, key, f"/api/v1/experiments/{run_id}"))["state"] == "finished" and e)
    assert exp_info["lastStep"] == reference.outcome["swanlog"]["train/batch_loss"][-1][0]
    assert sorted(exp_info["keys"]) == sorted(want)
    for name, points in want.items():
        assert served_curve(url, key, run_id, name) == points, name
    assert differences(outcome(exp), reference.outcome) == []
