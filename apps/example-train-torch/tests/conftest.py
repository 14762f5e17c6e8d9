"""Helpers of the resume tests: the trainer as a real child process, and what a user sees of a
finished experiment (the final weights, the swanlog curves as the CLI's store reader exports
them, and TensorBoard's own reader of the event files)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

try:
    import tensorboard  # noqa: F401 - the tests read the event files with TensorBoard's own reader
    import torch  # noqa: F401
    import yaml
except ImportError as error:
    raise ImportError(f"{error}: the PyTorch example's tests need torch, tensorboard and PyYAML; run `bash scripts/setup-python.sh` to add them to .venv-py") from error

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(APP))
MAIN = os.path.join(APP, "main.py")
TEST_CONFIG = os.path.join(APP, "configs", "config_test_resume.yaml")
CLI_JS = os.path.join(REPO, "apps", "cli", "bin", "swanlog.js")
NODE = shutil.which("node")
SDK_SRC = os.path.join(REPO, "packages", "sdk-python", "src")

with open(TEST_CONFIG, encoding="utf-8") as _f:
    CONFIG = yaml.safe_load(_f)
EPOCHS = CONFIG["training"]["epochs"]
PER_EPOCH = CONFIG["training"]["batches_per_epoch"]
# The trainer's test-only switches (main.py).
OMIT_VAR = "EXAMPLE_TRAIN_TORCH_TEST_OMIT"
KILL_IN_SAVE_VAR = "EXAMPLE_TRAIN_TORCH_TEST_KILL_IN_SAVE"


def child_env(extra: dict | None = None) -> dict:
    """The trainer's environment: this checkout's SDK, no SWANLOG_* variables of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWANLOG_", "SWANLAB_", "EXAMPLE_TRAIN_TORCH_"))}
    env["PYTHONPATH"] = SDK_SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def write_config(exp_dir: str, **swanlog) -> str:
    """The test config with experiment.dir = exp_dir, written beside it."""
    cfg = json.loads(json.dumps(CONFIG))
    cfg["experiment"]["dir"] = exp_dir
    cfg["swanlog"].update(swanlog)
    path = exp_dir.rstrip("/") + ".yaml"
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f)
    return path


class Trainer:
    """`python main.py --config <cfg> [--resume]` with stdout read line by line."""

    def __init__(self, config: str, resume: bool, env: dict | None = None) -> None:
        self.stderr_path = config + f".stderr-{time.monotonic_ns()}"
        self._stderr = open(self.stderr_path, "w")
        args = [sys.executable, MAIN, "--config", config] + (["--resume"] if resume else [])
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=child_env(env), cwd=os.path.dirname(config))
        self.lines: list[str] = []
        self.times: list[float] = []  # when each line was read (time.monotonic)

    def read_until(self, prefix: str) -> str | None:
        """Reads stdout up to a line starting with `prefix`; None when the trainer ended first."""
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            self.times.append(time.monotonic())
            if line.startswith(prefix):
                return line
        return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.finish(timeout=60)

    def finish(self, timeout: float = 180) -> int:
        out, _ = self.proc.communicate(timeout=timeout)
        self.lines.extend(out.splitlines())
        self._stderr.close()
        return self.proc.returncode

    @property
    def stderr(self) -> str:
        with open(self.stderr_path, encoding="utf-8") as f:
            return f.read()

    @property
    def run_id(self) -> str | None:
        for line in self.lines:
            if line.startswith("swanlog run "):
                return line.split()[2]
        return None


def train_to_end(config: str, resume: bool, env: dict | None = None) -> Trainer:
    t = Trainer(config, resume, env)
    code = t.finish()
    assert code == 0, f"trainer exited {code}\n" + "\n".join(t.lines) + "\n" + t.stderr
    return t


def swanlog_run_dir(exp_dir: str) -> str:
    logdir = os.path.join(exp_dir, "swanlog")
    runs = [n for n in os.listdir(logdir) if n.startswith("run-")]
    assert len(runs) == 1, f"one swanlog run expected under {logdir}, found {runs}"
    return os.path.join(logdir, runs[0])


def export(run_dir: str, *extra: str) -> list[dict]:
    r = subprocess.run([NODE, CLI_JS, "export", run_dir, *extra], capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def swanlog_curves(exp_dir: str) -> dict[str, list[tuple[int, float]]]:
    """The visible points of the experiment's swanlog run, per key, as `swanlog export` reads them."""
    out: dict[str, list] = {}
    for p in export(swanlog_run_dir(exp_dir)):
        out.setdefault(p["key"], []).append((p["step"], p["value"]))
    return {k: sorted(v) for k, v in out.items()}


def tensorboard_scalars(exp_dir: str) -> dict[str, list[tuple[int, float]]]:
    """What TensorBoard shows: its EventAccumulator over <dir>/tensorboard, every scalar kept."""
    from tensorboard.backend.event_processing import event_accumulator

    acc = event_accumulator.EventAccumulator(os.path.join(exp_dir, "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def final_weights(exp_dir: str) -> dict[str, bytes]:
    """The bytes of every tensor of the last checkpoint's model_state_dict."""
    import torch

    path = os.path.join(exp_dir, "checkpoints", f"epoch_{EPOCHS:03d}.pt")
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == EPOCHS
    return {k: v.detach().contiguous().numpy().tobytes() for k, v in state["model_state_dict"].items()}


def outcome(exp_dir: str) -> dict:
    return {"weights": final_weights(exp_dir), "swanlog": swanlog_curves(exp_dir), "tensorboard": tensorboard_scalars(exp_dir)}


def differences(got: dict, want: dict) -> list[str]:
    """What a user would see differ between two experiments (empty: nothing)."""
    out = []
    if got["weights"] != want["weights"]:
        bad = [k for k in want["weights"] if got["weights"].get(k) != want["weights"][k]]
        out.append(f"final model_state_dict differs in {bad}")
    for view in ("swanlog", "tensorboard"):
        if set(got[view]) != set(want[view]):
            out.append(f"{view} keys differ: {sorted(got[view])} vs {sorted(want[view])}")
        for key in sorted(set(got[view]) & set(want[view])):
            if got[view][key] != want[view][key]:
                first = next((i for i, (a, b) in enumerate(zip(got[view][key], want[view][key])) if a != b), None)
                out.append(f"{view} curve {key} differs ({len(got[view][key])} vs {len(want[view][key])} points; first difference at index {first})")
    return out


class Reference:
    def __init__(self, exp_dir: str, trainer: Trainer, epoch_seconds: float) -> None:
        self.dir = exp_dir
        self.trainer = trainer
        self.epoch_seconds = epoch_seconds  # the longest gap between two epoch lines
        self.outcome = outcome(exp_dir)


def in_parallel(tasks: dict, workers: int = 2) -> dict:
    """Runs each task (a function of no arguments) on a pool of `workers` threads (the trainers
    are child processes, so the machine's two cores both work); returns name -> result."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(fn) for name, fn in tasks.items()}
        return {name: f.result() for name, f in futures.items()}


@pytest.fixture(scope="session")
def base(tmp_path_factory) -> tuple[Reference, tuple[str, Trainer]]:
    """One uninterrupted run of the test config, shared by every test (started with --resume on
    an empty experiment directory, which must train from scratch), and beside it an experiment
    whose trainer was SIGKILLed right after printing epoch 5 (a template: copy it)."""
    # Both directories are made here, before the threads start: pytest makes its base temp
    # directory on first use, and two threads doing that at once each make one (the loser's
    # mktemp then fails with "is not a normalized and relative path").
    reference_exp = str(tmp_path_factory.mktemp("reference") / "exp")
    killed_exp = str(tmp_path_factory.mktemp("killed5") / "exp")

    def uninterrupted() -> Reference:
        exp = reference_exp
        t = Trainer(write_config(exp), resume=True)
        assert t.read_until(f"epoch {EPOCHS} ") is not None, t.lines + [t.stderr]
        code = t.finish()
        assert code == 0, "\n".join(t.lines) + t.stderr
        at = [when for when, line in zip(t.times, t.lines) if line.startswith(("swanlog run ", "epoch "))]
        return Reference(exp, t, max(b - a for a, b in zip(at, at[1:])))

    def killed() -> tuple[str, Trainer]:
        exp = killed_exp
        t = Trainer(write_config(exp), resume=False)
        line = t.read_until("epoch 5 ")
        assert line is not None, t.lines
        t.kill()
        assert t.proc.returncode == -signal.SIGKILL
        return exp, t

    done = in_parallel({"reference": uninterrupted, "killed": killed})
    return done["reference"], done["killed"]


@pytest.fixture(scope="session")
def reference(base) -> Reference:
    return base[0]


@pytest.fixture(scope="session")
def killed_after_epoch_5(base) -> tuple[str, Trainer]:
    return base[1]


def copy_experiment(src: str, dst: str, **swanlog) -> tuple[str, str]:
    """A copy of an experiment directory and a config pointing at it."""
    shutil.copytree(src, dst)
    return dst, write_config(dst, **swanlog)
