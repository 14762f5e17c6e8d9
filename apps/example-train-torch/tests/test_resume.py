"""A PyTorch job SIGKILLed at any moment and resumed with --resume ends exactly where an
uninterrupted one does: bitwise-equal weights, the same swanlog curves, the same TensorBoard
scalars. Leaving the optimizer, the scheduler or the RNG states out of the restore shows."""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time

import pytest
from conftest import (
    EPOCHS,
    KILL_IN_SAVE_VAR,
    OMIT_VAR,
    PER_EPOCH,
    Trainer,
    copy_experiment,
    differences,
    export,
    in_parallel,
    outcome,
    swanlog_run_dir,
    train_to_end,
    write_config,
)


def epochs_printed(lines: list[str]) -> list[int]:
    return [int(line.split()[1]) for line in lines if line.startswith("epoch ")]


def test_resume_without_a_checkpoint_trains_from_epoch_1(reference):
    lines = reference.trainer.lines
    assert lines[0].startswith("no checkpoint in ") and lines[0].endswith(": training from scratch at epoch 1"), lines
    assert epochs_printed(lines) == list(range(1, EPOCHS + 1))
    # Each epoch line has the three numbers.
    assert all(" train_loss=" in x and " val_loss=" in x and " val_acc=" in x for x in lines if x.startswith("epoch "))
    ckpts = sorted(n for n in os.listdir(os.path.join(reference.dir, "checkpoints")) if n.endswith(".pt"))
    assert ckpts == ["epoch_002.pt", "epoch_004.pt", "epoch_006.pt"]
    # Steps: one per batch; the epoch's metrics at the step that ends it.
    curves = reference.outcome["swanlog"]
    assert [s for s, _ in curves["train/batch_loss"]] == list(range(1, EPOCHS * PER_EPOCH + 1))
    for key in ("train/loss", "val/loss", "val/acc"):
        assert [s for s, _ in curves[key]] == [e * PER_EPOCH for e in range(1, EPOCHS + 1)]
    assert reference.outcome["tensorboard"].keys() == curves.keys()
    for key, points in curves.items():
        tb = reference.outcome["tensorboard"][key]
        assert [s for s, _ in tb] == [s for s, _ in points]


def damage(path: str, how: str) -> None:
    with open(path, "r+b") as f:
        data = f.read()
        if how == "cut short":
            f.truncate(len(data) // 2)
        else:
            f.seek(len(data) // 2)
            f.write(bytes(b ^ 0xFF for b in data[len(data) // 2 : len(data) // 2 + 16]))


@pytest.fixture(scope="session")
def resumed(base, tmp_path_factory) -> dict:
    """The experiment killed after epoch 5, copied and resumed in several ways (two at a time):
    as it is, with one piece of state left out of the restore, with its newest checkpoint
    damaged; and an experiment killed halfway through writing its epoch-4 checkpoint, resumed."""
    _, (src, _) = base
    root = tmp_path_factory.mktemp("resumed")

    def resume(name: str, env: dict | None = None, damaged: str | None = None):
        def task():
            exp, cfg = copy_experiment(src, str(root / name.replace(" ", "-")))
            if damaged:
                damage(os.path.join(exp, "checkpoints", "epoch_004.pt"), damaged)
            return exp, train_to_end(cfg, resume=True, env=env)

        return task

    def killed_in_save():
        exp = str(root / "killed-in-save")
        cfg = write_config(exp)
        t = Trainer(cfg, resume=False, env={KILL_IN_SAVE_VAR: "4"})
        code = t.finish()
        names = os.listdir(os.path.join(exp, "checkpoints"))
        return exp, code, names, train_to_end(cfg, resume=True)

    tasks = {"plain": resume("plain")}
    for piece in ("optimizer", "scheduler", "rng"):
        tasks[f"omit {piece}"] = resume(f"omit {piece}", env={OMIT_VAR: piece})
    for how in ("cut short", "bytes flipped"):
        tasks[how] = resume(how, damaged=how)
    tasks["killed in save"] = killed_in_save
    return in_parallel(tasks)


def test_sigkill_after_epoch_5_then_resume_equals_an_uninterrupted_run(reference, killed_after_epoch_5, resumed):
    src, killed = killed_after_epoch_5
    assert epochs_printed(killed.lines) == [1, 2, 3, 4, 5]
    with open(os.path.join(src, "checkpoints", "training_metrics.json"), encoding="utf-8") as f:
        assert [e["epoch"] for e in json.load(f)["epochs"]] == [1, 2, 3, 4]
    exp, t = resumed["plain"]
    assert t.lines[0].startswith("resuming from ") and f"epoch_004.pt (epoch 4, step {4 * PER_EPOCH}) at epoch 5" in t.lines[0], t.lines
    assert epochs_printed(t.lines) == [5, 6]
    assert t.run_id == killed.run_id, "the resume continues the same swanlog run"
    assert differences(outcome(exp), reference.outcome) == []
    # What the killed job logged after its checkpoint is kept but superseded, never duplicated.
    superseded = {p["step"] for p in export(swanlog_run_dir(exp), "--all") if p.get("superseded")}
    assert superseded and min(superseded) > 4 * PER_EPOCH and max(superseded) <= EPOCHS * PER_EPOCH
    with open(os.path.join(exp, "checkpoints", "training_metrics.json"), encoding="utf-8") as f:
        assert [e["epoch"] for e in json.load(f)["epochs"]] == list(range(1, EPOCHS + 1))


@pytest.mark.parametrize("piece", ["optimizer", "scheduler", "rng"])
def test_a_restore_that_leaves_one_piece_out_visibly_differs(piece, reference, resumed):
    exp, t = resumed[f"omit {piece}"]
    assert "epoch_004.pt" in t.lines[0], t.lines
    got = outcome(exp)
    assert got["weights"] != reference.outcome["weights"], f"leaving out the {piece} state changed nothing"
    for view in ("swanlog", "tensorboard"):
        want = reference.outcome[view]["train/batch_loss"]
        have = got[view]["train/batch_loss"]
        checkpoint = 4 * PER_EPOCH
        # The curves part after the checkpoint, and only there.
        assert [p for p in have if p[0] <= checkpoint] == [p for p in want if p[0] <= checkpoint]
        assert [p for p in have if p[0] > checkpoint] != [p for p in want if p[0] > checkpoint], view


@pytest.mark.parametrize("how", ["cut short", "bytes flipped"])
def test_a_damaged_newest_checkpoint_is_skipped_with_a_warning(how, reference, resumed):
    exp, t = resumed[how]
    newest = os.path.join(exp, "checkpoints", "epoch_004.pt")
    warning = [line for line in t.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and newest in warning[0] and "skipping checkpoint" in warning[0], t.stderr
    assert f"epoch_002.pt (epoch 2, step {2 * PER_EPOCH}) at epoch 3" in t.lines[0], t.lines
    assert epochs_printed(t.lines) == [3, 4, 5, 6]
    assert differences(outcome(exp), reference.outcome) == []


def test_a_kill_during_a_checkpoint_save_leaves_the_previous_checkpoint(reference, resumed):
    exp, code, names, t = resumed["killed in save"]
    assert code == -signal.SIGKILL
    assert "epoch_004.pt" not in names and any(n.startswith(".epoch_004.pt.tmp-") for n in names), names
    assert f"epoch_002.pt (epoch 2, step {2 * PER_EPOCH}) at epoch 3" in t.lines[0], t.lines
    assert differences(outcome(exp), reference.outcome) == []


KILLS_PER_CHAIN = 5
CHAINS = 2


def test_sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run(reference, tmp_path):
    """Two experiments, each killed 5 times at random moments, then resumed to the end: 10 kill
    moments. Each kill picks one of the epochs still to train and a moment within it (its batches,
    its validation, its checkpoint save); the seed is printed, rerun one with
    EXAMPLE_TRAIN_TORCH_KILL_SEED=<seed>."""
    seed = int(os.environ.get("EXAMPLE_TRAIN_TORCH_KILL_SEED") or random.SystemRandom().randrange(2**32))
    print(f"kill seed {seed}")
    results: list[tuple[str, list[str]]] = []
    errors: list[BaseException] = []

    def chain(index: int) -> None:
        try:
            rng = random.Random(seed * CHAINS + index)
            log: list[str] = []
            kills, attempts, n = 0, 0, 0
            exp, cfg, fresh = None, None, True
            while kills < KILLS_PER_CHAIN:
                attempts += 1
                assert attempts <= 4 * KILLS_PER_CHAIN, "\n".join(log)
                if fresh:
                    exp = str(tmp_path / f"exp{index}-{n}")
                    cfg = write_config(exp)
                    n += 1
                t = Trainer(cfg, resume=not fresh)
                first = t.read_until("swanlog run ")
                start = 1
                for line in t.lines:
                    if line.startswith("resuming from "):
                        start = int(line.split()[-1])
                if start > EPOCHS:
                    # The killed job had saved its last checkpoint: nothing is left to train. This
                    # resume ends the run; a new experiment takes the next kill.
                    assert t.finish() == 0, t.stderr
                    log.append(f"{os.path.basename(exp)}: resumed after the last checkpoint: {t.lines[0]!r}")
                    results.append((exp, log))
                    fresh = True
                    continue
                target = rng.randint(start, EPOCHS)
                delay = rng.uniform(0, reference.epoch_seconds)
                # The line before the target epoch's first batch, then a moment into the epoch.
                if first is not None and (target == start or t.read_until(f"epoch {target - 1} ") is not None):
                    time.sleep(delay)
                t.kill()
                printed = [int(x.split()[1]) for x in t.lines if x.startswith("epoch ")]
                log.append(f"{os.path.basename(exp)}: kill {delay:.3f} s into epoch {target} (started at {start}, printed epochs {printed}, exit {t.proc.returncode})")
                fresh = False
                if EPOCHS in printed:
                    # Too late: the job had trained its last epoch. A new experiment takes the next kill.
                    results.append((exp, log))
                    fresh = True
                elif t.proc.returncode == -signal.SIGKILL:
                    kills += 1
            if not fresh:
                t = train_to_end(cfg, resume=True)
                log.append(f"{os.path.basename(exp)}: final resume: {t.lines[0]!r}")
                results.append((exp, log))
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            errors.append(error)

    threads = [threading.Thread(target=chain, args=(i,)) for i in range(CHAINS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise AssertionError(f"kill seed {seed}: {errors[0]!r}") from errors[0]
    for exp, log in results:
        diff = differences(outcome(exp), reference.outcome)
        assert diff == [], f"kill seed {seed}, {os.path.basename(exp)}:\n" + "\n".join(log + diff)
    for _, log in {id(log): (None, log) for _, log in results}.values():
        print(*log, sep="\n  ")
