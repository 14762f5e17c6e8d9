"""The API as a user meets it: init/log/finish, the resume table, env vars, values and keys."""

from __future__ import annotations

import math
import os
import struct
import warnings

import pytest
from conftest import raw_points

import swanlog
from swanlog import SwanlogError


def values_of(run, key):
    return [(s, v) for s, v, *_ in raw_points(run.dir, key)]


def test_swanlab_resume_example_runs_verbatim(logdir):
    import swanlog as swanlab

    run = swanlab.init(project="resume_test", logdir=logdir)
    swanlab.log({"loss": 2, "acc": 0.4})
    run.finish()
    run = swanlab.init(project="resume_test", resume=True, id=run.id, logdir=logdir)
    swanlab.log({"loss": 0.2, "acc": 0.9})
    swanlab.finish()
    assert values_of(run, "loss") == [(0, 2.0), (1, 0.2)]
    assert values_of(run, "acc") == [(0, 0.4), (1, 0.9)]


def test_run_properties_and_config_access(logdir):
    run = swanlog.init(project="p", experiment_name="exp1", description="first try", tags=["a", "b"],
                       config={"lr": 0.01, "model": {"depth": 3}}, logdir=logdir)
    assert len(run.id) == 21 and set(run.id) <= set("0123456789abcdefghijklmnopqrstuvwxyz")
    assert os.path.isdir(run.dir) and run.dir.endswith(run.id)
    assert run.name == "exp1" and run.project == "p" and run.tags == ["a", "b"] and run.description == "first try"
    assert run.config["lr"] == 0.01 and run.config.lr == 0.01 and run.config.model.depth == 3
    run.config["lr"] = 5  # a copy
    assert run.config.lr == 0.01
    assert run.step == 0
    run.log({"x": 1})
    assert run.step == 1 and run.logged == 1
    run.flush()
    assert run.flushed_through == 1
    with pytest.raises(AttributeError):
        run.config.nope  # noqa: B018
    run.finish()
    run.finish()  # twice is fine
    with pytest.raises(SwanlogError) as e:
        run.log({"x": 2})
    assert e.value.code == "RUN_FINISHED" and run.id in e.value.message


def test_step_counter_rules(logdir):
    run = swanlog.init(logdir=logdir)
    run.log({"a": 1})  # 0
    run.log({"a": 2}, step=10)  # explicit step moves the counter to 11
    run.log({"a": 3})
    assert run.step == 12
    run.log({"a": 4}, step=5)  # lower explicit step: counter follows it
    assert run.step == 6
    run.finish()
    assert [s for s, _ in values_of(run, "a")] == [0, 10, 11, 5]
    for bad in (-1, 1.5, True, "3", 2**53):
        with pytest.raises(SwanlogError) as e:
            swanlog.init(logdir=logdir).log({"a": 1}, step=bad)
        assert e.value.code == "INVALID_VALUE"


def test_resume_continues_after_last_step_and_warns_on_rewrite(logdir):
    run = swanlog.init(logdir=logdir)
    for i in range(5):
        run.log({"a": i})
    run.finish()
    again = swanlog.init(id=run.id, resume="must", logdir=logdir)
    assert again.step == 5 and again.resumed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again.log({"a": 9}, step=3)
        again.log({"a": 9}, step=2)
    assert len([w for w in caught if "supersedes" in str(w.message)]) == 1
    again.finish()


def test_from_step_rewinds_the_run(logdir):
    run = swanlog.init(logdir=logdir)
    for i in range(10):
        run.log({"a": i})
    run.finish()
    again = swanlog.init(id=run.id, resume="must", from_step=4, logdir=logdir)
    assert again.step == 5
    again.log({"a": 50})
    again.finish()
    from swanlog._reader import RunReader

    r = RunReader(run.dir)
    try:
        assert r.last_visible_step() == 5
    finally:
        r.close()


@pytest.mark.parametrize(
    "options,code",
    [
        ({"id": "abc"}, "INVALID_OPTION"),  # an id with resume never
        ({"resume": "must"}, "INVALID_OPTION"),  # must without an id
        ({"from_step": 3}, "INVALID_OPTION"),  # from_step without an id
        ({"id": "no such/id", "resume": "allow"}, "INVALID_RUN_ID"),
        ({"id": "missing", "resume": "must"}, "RUN_NOT_FOUND"),
        ({"mode": "online"}, "INVALID_OPTION"),
        ({"resume": "perhaps"}, "INVALID_OPTION"),
        ({"flush_interval": -1}, "INVALID_OPTION"),
        ({"project": "a\nb"}, "INVALID_OPTION"),
        ({"config": {"x": float("nan")}}, "INVALID_VALUE"),
        ({"config": {"x": {1, 2}}}, "INVALID_VALUE"),
        ({"config": {"x": "\ud800"}}, "INVALID_VALUE"),
        ({"on_invalid": "ignore"}, "INVALID_OPTION"),
    ],
)
def test_init_refuses_bad_options(logdir, options, code):
    with pytest.raises(SwanlogError) as e:
        swanlog.init(logdir=logdir, **options)
    assert e.value.code == code and e.value.hint


def test_resume_table(logdir):
    created = swanlog.init(id="given-id", resume="allow", logdir=logdir)
    assert created.id == "given-id" and not created.resumed
    created.finish()
    reopened = swanlog.init(id="given-id", resume=True, logdir=logdir)
    assert reopened.resumed and reopened.dir == created.dir
    reopened.finish()
    assert swanlog.init(id="given-id", resume="must", logdir=logdir).resumed


def test_env_vars(logdir, monkeypatch):
    first = swanlog.init(logdir=logdir)
    first.log({"a": 1})
    first.finish()
    monkeypatch.setenv("SWANLOG_LOGDIR", logdir)
    monkeypatch.setenv("SWANLAB_RUN_ID", first.id)
    monkeypatch.setenv("SWANLAB_RESUME", " Yes ")  # forgiving values
    monkeypatch.setenv("SWANLOG_PROJECT", "from-env")
    monkeypatch.setenv("SWANLOG_RESUME_FROM_STEP", "0")
    run = swanlog.init()
    assert run.id == first.id and run.resumed and run.step == 1
    run.finish()
    monkeypatch.setenv("SWANLOG_RUN_ID", "other")  # SWANLOG_RUN_ID wins over SWANLAB_RUN_ID
    monkeypatch.delenv("SWANLOG_RESUME_FROM_STEP")
    other = swanlog.init()
    assert other.id == "other" and other.project == "from-env"
    other.finish()
    monkeypatch.setenv("SWANLOG_MODE", "DISABLED")
    assert swanlog.init().dir is None
    monkeypatch.setenv("SWANLOG_RESUME_FROM_STEP", "x")
    with pytest.raises(SwanlogError) as e:
        swanlog.init()
    assert e.value.code == "INVALID_OPTION" and "SWANLOG_RESUME_FROM_STEP" in e.value.message


def test_disabled_mode_writes_nothing(logdir):
    run = swanlog.init(mode="disabled", config={"a": 1, "b": None}, logdir=logdir)
    run.log({"x": 1})
    run.finish()
    assert run.dir is None and run.config == {"a": 1}
    assert os.listdir(logdir) == []


def test_values_are_stored_bit_exact(logdir):
    run = swanlog.init(logdir=logdir)
    nan_payload = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_1234))[0]
    run.log({"v": 1.5, "i": 3, "b": True, "nan": nan_payload, "inf": math.inf, "ninf": -math.inf, "z": -0.0, "big": 2**60})
    run.log({"b": False})
    run.finish()
    bits = lambda x: struct.pack("<d", x)  # noqa: E731
    assert values_of(run, "b") == [(0, 1.0), (1, 0.0)]
    assert bits(values_of(run, "nan")[0][1]) == bits(nan_payload)
    assert bits(values_of(run, "z")[0][1]) == bits(-0.0)
    assert values_of(run, "inf")[0][1] == math.inf and values_of(run, "ninf")[0][1] == -math.inf
    assert values_of(run, "big")[0][1] == float(2**60)


@pytest.mark.parametrize(
    "data,what",
    [
        ({"loss": None}, "is None"),
        ({"loss": "0.5"}, 'a string ("0.5")'),
        ({"loss": [1, 2]}, "a list"),
        ({"loss": 1j}, "complex"),
        ({"loss": b"1"}, "bytes"),
        ({"loss": 10**400}, "too large"),
        ({"": 1}, "not a valid key"),
        ({"a\x00": 1}, "not a valid key"),
        ({"a\x85": 1}, "not a valid key"),
        ({"\ud800": 1}, "not a valid key"),
        ({"x" * 256: 1}, "not a valid key"),
        ({"\U0001f600" * 128: 1}, "not a valid key"),  # 256 UTF-16 code units
        ({1: 1.0}, "not a string"),
        ({"a/b": 1, "a": {"b": 2}}, "given 2 times"),
    ],
)
def test_a_bad_call_raises_and_stores_nothing(logdir, data, what):
    run = swanlog.init(logdir=logdir)
    run.log({"ok": 1})
    with pytest.raises(SwanlogError) as e:
        run.log({"ok": 2, **data} if "ok" not in data else data)
    assert e.value.code == "INVALID_VALUE" and what in e.value.message and run.id in e.value.message
    assert run.step == 1 and run.logged == 1
    run.log({"ok": 3})
    run.finish()
    assert values_of(run, "ok") == [(0, 1.0), (1, 3.0)]


def test_keys_at_the_limits_are_fine(logdir):
    run = swanlog.init(logdir=logdir)
    run.log({"x" * 255: 1, "\U0001f600" * 127 + "a": 2, "train/loss": 3, "__proto__": 4})
    run.finish()
    assert values_of(run, "\U0001f600" * 127 + "a") == [(0, 2.0)]


def test_nested_dicts_flatten_with_slash(logdir):
    run = swanlog.init(logdir=logdir)
    run.log({"val": {"acc": 0.5, "deep": {"x": 1}}, "loss": 2})
    run.finish()
    assert values_of(run, "val/acc") == [(0, 0.5)]
    assert values_of(run, "val/deep/x") == [(0, 1.0)]
    assert values_of(run, "loss") == [(0, 2.0)]


def test_on_invalid_warn_skips_bad_keys_with_one_warning_each(logdir):
    run = swanlog.init(logdir=logdir, on_invalid="warn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(3):
            run.log({"loss": i, "bad": None, "worse": "x"})
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and any('"bad"' in m for m in messages) and any('"worse"' in m for m in messages)
    run.finish()
    assert values_of(run, "loss") == [(0, 0.0), (1, 1.0), (2, 2.0)]
    assert values_of(run, "bad") == []


def test_log_takes_mappings_only(logdir):
    run = swanlog.init(logdir=logdir)
    for bad in ([("a", 1)], None, 3):
        with pytest.raises(SwanlogError) as e:
            run.log(bad)
        assert e.value.code == "INVALID_VALUE"
    from collections import OrderedDict

    run.log(OrderedDict(a=1))
    run.finish()


def test_numpy_values(logdir):
    np = pytest.importorskip("numpy")
    run = swanlog.init(logdir=logdir)
    run.log({"f32": np.float32(0.5), "i64": np.int64(7), "arr0": np.array(2.5), "b": np.bool_(True)}, step=np.int64(3))
    with pytest.raises(SwanlogError):
        run.log({"vec": np.array([1.0, 2.0])})
    run.finish()
    assert values_of(run, "f32") == [(3, 0.5)] and values_of(run, "i64") == [(3, 7.0)]
    assert values_of(run, "arr0") == [(3, 2.5)] and values_of(run, "b") == [(3, 1.0)]


def test_torch_values(logdir):
    torch = pytest.importorskip("torch")
    run = swanlog.init(logdir=logdir)
    loss = torch.tensor(0.25, requires_grad=True) * 2
    run.log({"loss": loss, "n": torch.tensor(3)})
    with pytest.raises(SwanlogError):
        run.log({"vec": torch.tensor([1.0, 2.0])})
    run.finish()
    assert values_of(run, "loss") == [(0, 0.5)] and values_of(run, "n") == [(0, 3.0)]


def test_with_statement_ends_finished_or_crashed(logdir):
    from swanlog._reader import RunReader

    def end_state(run):
        r = RunReader(run.dir)
        try:
            return [s.end_state for s in r.sessions()]
        finally:
            r.close()

    with swanlog.init(logdir=logdir) as ok:
        ok.log({"a": 1})
    assert end_state(ok) == ["finished"]
    with pytest.raises(ValueError):
        with swanlog.init(logdir=logdir) as bad:
            bad.log({"a": 1})
            raise ValueError("boom")
    assert end_state(bad) == ["crashed"]
    with pytest.raises(KeyboardInterrupt):
        with swanlog.init(logdir=logdir) as stopped:
            raise KeyboardInterrupt
    assert end_state(stopped) == ["aborted"]


def test_flush_interval_zero_makes_every_call_durable(logdir):
    run = swanlog.init(logdir=logdir, flush_interval=0)
    for i in range(5):
        run.log({"a": i})
        assert run.flushed_through == i + 1
    run.finish()


def test_alternating_key_sets_and_many_flushes(logdir):
    run = swanlog.init(logdir=logdir, flush_interval=0)
    for i in range(3000):
        run.log({"train": i} if i % 3 else {"train": i, "val": -i})
    run.finish()
    assert [s for s, _ in values_of(run, "train")] == list(range(3000))
    assert values_of(run, "val") == [(i, float(-i)) for i in range(0, 3000, 3)]
    import sqlite3

    rows = 0
    for name in os.listdir(os.path.join(run.dir, "writers")):
        db = sqlite3.connect(os.path.join(run.dir, "writers", name))
        rows += db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        db.close()
    assert rows < 40  # small chunks merge (binary counter), not one row per call


def test_large_flush_splits_into_chunks(logdir):
    run = swanlog.init(logdir=logdir, flush_interval=3600)
    for i in range(70_000):
        run.log({"a": i, "b": 2 * i})
    run.log({"a": 1}, step=2**52)  # a step delta past 2^51 is stored absolute
    run.finish()
    pts = values_of(run, "a")
    assert len(pts) == 70_001 and pts[-1] == (2**52, 1.0) and pts[69_999] == (69_999, 69_999.0)


def test_a_full_disk_keeps_the_buffers_until_finish_succeeds(logdir, monkeypatch):
    monkeypatch.setenv("SWANLOG_FAULT_MAX_PAGES", "16")  # the writer file cannot grow past 16 pages
    run = swanlog.init(logdir=logdir, flush_interval=3600)
    for i in range(20_000):
        run.log({"a": i, "b": float(i) / 3})
    with pytest.raises(SwanlogError) as e:
        run.finish()
    assert e.value.code == "STORAGE_FULL" and run.dir in e.value.hint and not run.finished
    run.log({"a": 20_000, "b": 0.0})  # still taking values
    monkeypatch.delenv("SWANLOG_FAULT_MAX_PAGES")  # "free space"
    run.finish()
    assert [s for s, _ in values_of(run, "a")] == list(range(20_001))


def test_threads_may_log_into_one_run(logdir):
    import threading

    run = swanlog.init(logdir=logdir, flush_interval=0.01)

    def worker(t):
        for i in range(2000):
            run.log({f"t{t}": i}, step=i)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.finish()
    assert run.logged == 8000
    for t in range(4):
        assert values_of(run, f"t{t}") == [(i, float(i)) for i in range(2000)]
