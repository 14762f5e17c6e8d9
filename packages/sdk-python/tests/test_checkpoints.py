"""save_checkpoint / latest_checkpoint: atomic saves, sidecars, discovery that skips damage."""

from __future__ import annotations

import json
import os
import warnings
import zipfile

import pytest

import swanlog
from swanlog import SwanlogError


def test_save_is_atomic_with_a_sidecar(tmp_path):
    path = swanlog.save_checkpoint(tmp_path / "ckpt" / "epoch_001.pt", lambda f: f.write(b"weights"))
    assert open(path, "rb").read() == b"weights"
    sidecar = json.load(open(path + ".sha256"))
    assert sidecar["size"] == 7 and len(sidecar["sha256"]) == 64
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["epoch_001.pt", "epoch_001.pt.sha256"]  # no temp file left


def test_a_failing_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    path = swanlog.save_checkpoint(tmp_path / "epoch_001.pt", lambda f: f.write(b"old"))

    def broken(f):
        f.write(b"half")
        raise OSError("disk went away")

    with pytest.raises(OSError):
        swanlog.save_checkpoint(path, broken)
    assert open(path, "rb").read() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["epoch_001.pt", "epoch_001.pt.sha256"]
    assert swanlog.latest_checkpoint(tmp_path) == path


def test_latest_orders_by_number_and_skips_damaged_files_with_a_warning(tmp_path):
    for epoch in (2, 10, 9):
        swanlog.save_checkpoint(tmp_path / f"epoch_{epoch:03d}.pt", lambda f, e=epoch: f.write(bytes([e]) * 100))
    (tmp_path / "epoch_010.pt").write_bytes(b"\0" * 100)  # damaged after its save
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        latest = swanlog.latest_checkpoint(tmp_path, pattern="epoch_{:03d}.pt")
    assert latest == str(tmp_path / "epoch_009.pt")
    assert len(caught) == 1 and "epoch_010.pt" in str(caught[0].message) and "sha256" in str(caught[0].message)


def test_zip_files_without_a_sidecar_are_checked_by_their_crcs(tmp_path):
    good = tmp_path / "step_1.ckpt"
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("data.pkl", b"x" * 1000)
    bad = tmp_path / "step_2.ckpt"
    data = bytearray(good.read_bytes())
    data[60] ^= 0xFF  # inside the stored member
    bad.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert swanlog.latest_checkpoint(tmp_path, pattern="step_{}.ckpt") == str(good)
    assert len(caught) == 1 and "step_2.ckpt" in str(caught[0].message)


def test_no_checkpoint_and_bad_patterns(tmp_path):
    assert swanlog.latest_checkpoint(tmp_path / "missing") is None
    assert swanlog.latest_checkpoint(tmp_path) is None
    with pytest.raises(SwanlogError) as e:
        swanlog.latest_checkpoint(tmp_path, pattern="final.pt")
    assert e.value.code == "INVALID_OPTION"


def test_torch_save_and_load_round_trip(tmp_path):
    torch = pytest.importorskip("torch")
    state = {"w": torch.arange(10.0), "epoch": 3}
    swanlog.save_checkpoint(tmp_path / "epoch_003.pt", lambda f: torch.save(state, f))
    os.remove(tmp_path / "epoch_003.pt.sha256")  # torch's zip format verifies without a sidecar
    path = swanlog.latest_checkpoint(tmp_path)
    loaded = torch.load(path)
    assert loaded["epoch"] == 3 and torch.equal(loaded["w"], state["w"])
