"""The issue's finish line: a killed PyTorch-style loop resumes from the environment with a rewind
to its last checkpoint, and the TS CLI reads one clean series."""

from __future__ import annotations

import os
import subprocess

import pytest
from conftest import export, needs_ts, run_state, spawn_python

pytestmark = needs_ts

TRAIN = """
import os, sys, time
import torch, swanlog

ckpt_dir = sys.argv[1]
kill_after = int(sys.argv[2])
run = swanlog.init(project="mnist", config={"lr": 0.1})  # SWANLOG_* from the environment
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=run.config.lr)
start = 0
path = swanlog.latest_checkpoint(ckpt_dir, pattern="step_{:05d}.pt")
if path is not None:
    state = torch.load(path)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    start = state["step"] + 1
assert run.step == start, (run.step, start)
torch.manual_seed(0)
x, y = torch.randn(64, 4), torch.randn(64, 1)
for step in range(start, 60):
    loss = torch.nn.functional.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    run.log({"train/loss": loss, "train": {"step_x2": step * 2}})
    if step % 10 == 9:
        state = {"model": model.state_dict(), "opt": opt.state_dict(), "step": step}
        swanlog.save_checkpoint(os.path.join(ckpt_dir, f"step_{step:05d}.pt"), lambda f: torch.save(state, f))
        run.flush()
    if step == kill_after:
        print("kill me", run.id, flush=True)
        time.sleep(120)
run.finish()
print("done", run.id, flush=True)
"""


def test_a_killed_training_loop_resumes_from_the_environment_with_a_rewind(logdir, tmp_path):
    pytest.importorskip("torch")
    ckpt = str(tmp_path / "ckpt")
    env = {"SWANLOG_LOGDIR": logdir, "SWANLOG_PROJECT": "mnist"}
    first = spawn_python("import sys; sys.argv = ['train', %r, '35']\n" % ckpt + TRAIN, env=env, stdout=subprocess.PIPE)
    line = first.stdout.readline().split()
    assert line[:2] == ["kill", "me"], line
    run_id = line[2]
    first.kill()
    first.wait()
    # The requeue script: the same run, rewound to the last checkpoint (step 29).
    env.update({"SWANLOG_RUN_ID": run_id, "SWANLOG_RESUME": "must", "SWANLOG_RESUME_FROM_STEP": "29"})
    second = spawn_python("import sys; sys.argv = ['train', %r, '-1']\n" % ckpt + TRAIN, env=env, stdout=subprocess.PIPE)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0 and out.split() == ["done", run_id]
    (name,) = [n for n in os.listdir(logdir) if n.startswith("run-")]
    run_dir = os.path.join(logdir, name)
    assert run_state(run_dir) == "finished"
    points = {}
    for p in export(run_dir):
        points.setdefault(p["key"], []).append(p["step"])
    assert points["train/loss"] == list(range(60)) and points["train/step_x2"] == list(range(60))
    superseded = [p for p in export(run_dir, "--all") if p.get("superseded")]
    # Steps 30..35 of the killed job (whatever of them was flushed) are kept but hidden.
    assert {p["step"] for p in superseded} <= set(range(30, 36))
