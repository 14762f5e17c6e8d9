# /// script
# requires-python = ">=3.10"
# dependencies = ["torch", "tensorboard", "pyyaml", "swanlog"]
# [tool.uv.sources]
# swanlog = { path = "../../packages/sdk-python" }
# ///
"""A small CNN on synthetic shapes, trained with PyTorch, that resumes exactly after a kill.

    python apps/example-train-torch/main.py --config apps/example-train-torch/configs/config.yaml
    python apps/example-train-torch/main.py --config apps/example-train-torch/configs/config.yaml --resume

Checkpoints `<experiment.dir>/checkpoints/epoch_XXX.pt` hold the model, AdamW, the scheduler, every
RNG state and the swanlog run id. `--resume` restores the newest sound one, resumes the same swanlog
run with `from_step` = its global step and continues TensorBoard with `purge_step` = that step + 1,
so a killed and resumed job ends with the same weights and the same curves as one never stopped.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import signal
import sys
import warnings

CHECKPOINT_PATTERN = "epoch_{:03d}.pt"
RUN_FILE = "swanlog_run.json"
CLASSES = ("square", "disk", "triangle", "cross")
USAGE = "python apps/example-train-torch/main.py --config <file.yaml> [--resume]"

# Test-only switches (apps/example-train-torch/tests): leave one piece of the state out of a
# restore, to show that it matters, or SIGKILL this process halfway through writing a checkpoint.
OMIT_VAR = "EXAMPLE_TRAIN_TORCH_TEST_OMIT"  # optimizer | scheduler | rng
KILL_IN_SAVE_VAR = "EXAMPLE_TRAIN_TORCH_TEST_KILL_IN_SAVE"  # an epoch number


class ConfigError(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.code = "INVALID_OPTION"
        self.message = message
        self.hint = hint


# ----------------------------------------------------------------------------------------------
# Config: every field checked, a bad or unknown one named with its path (`training.epochs`).

_REQUIRED = object()


def _int(minimum: int):
    def check(value, field):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{field} must be an integer ≥ {minimum}, got {value!r}", f"set {field}: {max(minimum, 1)} or more")
        return value

    return check


def _number(minimum: float, maximum: float):
    def check(value, field):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (minimum <= value <= maximum) or math.isnan(value):
            raise ConfigError(f"{field} must be a number from {minimum} to {maximum}, got {value!r}", f"e.g. {field}: {minimum if minimum > 0 else 0.1}")
        return float(value)

    return check


def _text(value, field):
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{field} must be a non-empty string, got {value!r}", f'e.g. {field}: "shapes"')
    return value


def _optional_text(value, field):
    return None if value is None else _text(value, field)


def _choice(*options: str):
    def check(value, field):
        if value not in options:
            raise ConfigError(f"{field} must be one of {', '.join(options)}, got {value!r}", f"e.g. {field}: {options[0]}")
        return value

    return check


SCHEMA = {
    "experiment": {"name": (_text, _REQUIRED), "dir": (_text, _REQUIRED)},
    "training": {
        "epochs": (_int(1), _REQUIRED),
        "checkpoint_interval": (_int(1), _REQUIRED),
        "batches_per_epoch": (_int(1), _REQUIRED),
        "batch_size": (_int(1), _REQUIRED),
        "seed": (_int(0), _REQUIRED),
        "lr": (_number(1e-8, 10.0), 3e-3),
        "weight_decay": (_number(0.0, 10.0), 0.01),
        "warmup_epochs": (_int(0), 1),
        "dropout": (_number(0.0, 0.95), 0.25),
        "image_size": (_int(8), 16),
        "val_size": (_int(1), 256),
        "threads": (_int(1), 1),
    },
    "swanlog": {
        "mode": (_choice("offline", "cloud", "disabled"), _REQUIRED),
        "project": (_text, _REQUIRED),
        "host": (_optional_text, None),
    },
}


def load_config(path: str) -> dict:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", f"usage: {USAGE}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}", "fix the YAML syntax at the position shown") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping with experiment, training and swanlog", "see apps/example-train-torch/configs/config.yaml")
    out: dict = {}
    for section in raw:
        if section not in SCHEMA:
            raise ConfigError(f"{path}: unknown section {section!r}", f"the sections are {', '.join(SCHEMA)}")
    for section, fields in SCHEMA.items():
        given = raw.get(section)
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise ConfigError(f"{path}: {section} must be a mapping, got {given!r}", f"see apps/example-train-torch/configs/config.yaml for {section}")
        for name in given:
            if name not in fields:
                raise ConfigError(f"{path}: unknown field {section}.{name}", f"the fields of {section} are {', '.join(fields)}")
        out[section] = {}
        for name, (check, default) in fields.items():
            field = f"{section}.{name}"
            if name not in given:
                if default is _REQUIRED:
                    raise ConfigError(f"{path}: {field} is missing", f"add {field} to the config (see apps/example-train-torch/configs/config.yaml)")
                out[section][name] = default
            else:
                try:
                    out[section][name] = check(given[name], field)
                except ConfigError as error:
                    raise ConfigError(f"{path}: {error.message}", error.hint) from None
    t = out["training"]
    if t["warmup_epochs"] >= t["epochs"]:
        raise ConfigError(f"{path}: training.warmup_epochs ({t['warmup_epochs']}) must be below training.epochs ({t['epochs']})", "lower training.warmup_epochs")
    out["experiment"]["dir"] = os.path.abspath(out["experiment"]["dir"])
    return out


# ----------------------------------------------------------------------------------------------
# Data, model, schedule.


def make_shapes(n: int, size: int, seed: int):
    """`n` grayscale images of a square, disk, triangle or cross at a random place and size, with
    noise: a pure function of the seed (its own generator; the global RNGs are not touched)."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    labels = rng.integers(0, len(CLASSES), n)
    images = np.empty((n, 1, size, size), dtype=np.float32)
    for i in range(n):
        r = rng.uniform(size * 0.18, size * 0.32)
        cx, cy = rng.uniform(r, size - 1 - r, 2)
        dx, dy = xs - cx, ys - cy
        kind = labels[i]
        if kind == 0:
            mask = (np.abs(dx) <= r) & (np.abs(dy) <= r)
        elif kind == 1:
            mask = dx * dx + dy * dy <= r * r
        elif kind == 2:
            mask = (dy <= r) & (dy >= -r) & (np.abs(dx) <= (dy + r) / 2)
        else:
            w = max(r / 3, 0.8)
            mask = ((np.abs(dx) <= w) & (np.abs(dy) <= r)) | ((np.abs(dy) <= w) & (np.abs(dx) <= r))
        image = mask.astype(np.float32) * rng.uniform(0.6, 1.0) + rng.normal(0, 0.15, (size, size)).astype(np.float32)
        images[i, 0] = image
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def make_model(size: int, dropout: float):
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(16 * (size // 4) ** 2, 32),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(32, len(CLASSES)),
    )


def cosine_with_warmup(warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def augment(x):
    """A random horizontal flip per image (torch's global RNG) and a random shift of the batch by
    up to one pixel (Python's `random`): both RNGs must be restored for an exact resume."""
    import torch

    flip = torch.rand(x.shape[0]) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    return torch.roll(x, shifts=(random.randint(-1, 1), random.randint(-1, 1)), dims=(-2, -1))


# ----------------------------------------------------------------------------------------------
# Checkpoints.


def checkpoint_dir(cfg: dict) -> str:
    return os.path.join(cfg["experiment"]["dir"], "checkpoints")


def find_checkpoint(directory: str) -> str | None:
    import swanlog

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = swanlog.latest_checkpoint(directory, pattern=CHECKPOINT_PATTERN)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr, flush=True)
    return path


def save_checkpoint(path: str, state: dict, epoch: int) -> None:
    import swanlog
    import torch

    def write(f) -> None:
        if os.environ.get(KILL_IN_SAVE_VAR) == str(epoch):
            buf = io.BytesIO()
            torch.save(state, buf)
            data = buf.getvalue()
            f.write(data[: len(data) // 2])
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        torch.save(state, f)

    swanlog.save_checkpoint(path, write)


def write_json_atomically(path: str, value) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ----------------------------------------------------------------------------------------------
# Training.


def train(cfg: dict, resume: bool) -> int:
    import swanlog
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.tensorboard import SummaryWriter

    t = cfg["training"]
    exp_dir = cfg["experiment"]["dir"]
    ckpt_dir = checkpoint_dir(cfg)
    os.makedirs(ckpt_dir, exist_ok=True)

    torch.set_num_threads(t["threads"])
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(t["seed"])
    random.seed(t["seed"])

    size, bs, per_epoch = t["image_size"], t["batch_size"], t["batches_per_epoch"]
    train_x, train_y = make_shapes(per_epoch * bs, size, t["seed"])
    val_x, val_y = make_shapes(t["val_size"], size, t["seed"] + 1_000_003)
    loader_gen = torch.Generator().manual_seed(t["seed"])
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=bs, shuffle=True, drop_last=True, num_workers=0, generator=loader_gen)

    model = make_model(size, t["dropout"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=t["lr"], weight_decay=t["weight_decay"])
    total_steps = t["epochs"] * per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_with_warmup(t["warmup_epochs"] * per_epoch, total_steps))

    start_epoch, global_step, history, run_id = 1, 0, [], None
    omit = os.environ.get(OMIT_VAR, "")
    path = find_checkpoint(ckpt_dir) if resume else None
    if path is not None:
        state = torch.load(path, weights_only=True)
        model.load_state_dict(state["model_state_dict"])
        if omit != "optimizer":
            optimizer.load_state_dict(state["optimizer_state_dict"])
        if omit != "scheduler":
            scheduler.load_state_dict(state["scheduler_state_dict"])
        if omit != "rng":
            rng = state["rng"]
            torch.set_rng_state(rng["torch"])
            random.setstate(_python_state(rng["python"]))
            loader_gen.set_state(rng["loader"])
        start_epoch, global_step = state["epoch"] + 1, state["global_step"]
        history, run_id = list(state["history"]), state["swanlog_run_id"]
        print(f"resuming from {path} (epoch {state['epoch']}, step {global_step}) at epoch {start_epoch}", flush=True)
    else:
        if resume:
            print(f"no checkpoint in {ckpt_dir}: training from scratch at epoch 1", flush=True)
        else:
            print("training from scratch at epoch 1", flush=True)
        # A job killed before its first checkpoint continues its swanlog run, rewound to the start.
        run_id = _recorded_run_id(exp_dir) if resume else None
    if start_epoch > t["epochs"]:
        print(f"already trained through epoch {t['epochs']}: nothing to do", flush=True)
        return 0

    s = cfg["swanlog"]
    run = swanlog.init(
        project=s["project"],
        name=cfg["experiment"]["name"],
        config={"experiment": {"name": cfg["experiment"]["name"]}, "training": t},
        mode=s["mode"],
        logdir=os.path.join(exp_dir, "swanlog"),
        id=run_id,
        resume="allow" if run_id is not None else None,
        from_step=global_step if run_id is not None else None,
        host=s["host"],
    )
    if s["mode"] != "disabled" and run_id is None:
        write_json_atomically(os.path.join(exp_dir, RUN_FILE), {"swanlog_run_id": run.id})
    print(f"swanlog run {run.id} ({s['mode']})", flush=True)
    tb = SummaryWriter(log_dir=os.path.join(exp_dir, "tensorboard"), purge_step=global_step + 1)

    def log(metrics: dict, step: int) -> None:
        run.log(metrics, step=step)
        for tag, value in metrics.items():
            tb.add_scalar(tag, value, step)

    for epoch in range(start_epoch, t["epochs"] + 1):
        model.train()
        total = 0.0
        for b, (x, y) in enumerate(loader):
            lr = scheduler.get_last_lr()[0]
            loss = F.cross_entropy(model(augment(x)), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            global_step += 1
            total += loss.item()
            batch = {"train/batch_loss": loss.item(), "train/lr": lr}
            if b < per_epoch - 1:
                log(batch, global_step)
        train_loss = total / per_epoch
        val_loss, val_acc = evaluate(model, val_x, val_y, bs)
        # The step that ends the epoch carries its last batch and the epoch's metrics.
        log({**batch, "train/loss": train_loss, "val/loss": val_loss, "val/acc": val_acc}, global_step)
        history.append({"epoch": epoch, "global_step": global_step, "train_loss": train_loss, "val_loss": val_loss, "val_acc": val_acc})
        # Durable before the checkpoint that vouches for them: a resume rewinds to this step.
        run.flush()
        tb.flush()
        if epoch % t["checkpoint_interval"] == 0 or epoch == t["epochs"]:
            state = {
                "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
                "scheduler_state_dict": scheduler.state_dict(),
                "epoch": epoch,
                "global_step": global_step,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_acc": val_acc,
                "history": history,
                "rng": {"torch": torch.get_rng_state(), "python": list(_flat_python_state()), "loader": loader_gen.get_state()},
                "swanlog_run_id": run.id,
            }
            save_checkpoint(os.path.join(ckpt_dir, CHECKPOINT_PATTERN.format(epoch)), state, epoch)
            write_json_atomically(os.path.join(ckpt_dir, "training_metrics.json"), {"swanlog_run_id": run.id, "epochs": history})
        print(f"epoch {epoch} train_loss={train_loss:.4f} val_loss={val_loss:.4f} val_acc={val_acc:.4f}", flush=True)
    tb.close()
    run.finish()
    print(f"done: swanlog run {run.id}, checkpoints in {ckpt_dir}", flush=True)
    return 0


def evaluate(model, x, y, bs: int) -> tuple[float, float]:
    import torch
    import torch.nn.functional as F

    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            logits = model(x[i : i + bs])
            loss_sum += F.cross_entropy(logits, y[i : i + bs], reduction="sum").item()
            correct += int((logits.argmax(1) == y[i : i + bs]).sum())
    return loss_sum / len(x), correct / len(x)


def _flat_python_state() -> list[int]:
    """`random.getstate()` as a list of ints, which `torch.load(weights_only=True)` reads."""
    version, internal, gauss = random.getstate()
    assert version == 3 and gauss is None
    return list(internal)


def _python_state(flat) -> tuple:
    return (3, tuple(int(v) for v in flat), None)


def _recorded_run_id(exp_dir: str) -> str | None:
    try:
        with open(os.path.join(exp_dir, RUN_FILE), encoding="utf-8") as f:
            return json.load(f)["swanlog_run_id"]
    except (FileNotFoundError, ValueError, KeyError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train a small CNN on synthetic shapes; --resume continues after a kill.")
    parser.add_argument("--config", required=True, help="the YAML config (see configs/config.yaml)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest sound checkpoint of experiment.dir")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as error:
        print(f"error[{error.code}]: {error.message}\nhint: {error.hint}", file=sys.stderr, flush=True)
        return 2
    import swanlog

    try:
        return train(cfg, args.resume)
    except swanlog.SwanlogError as error:
        print(f"error[{error.code}]: {error.message}\nhint: {error.hint}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
