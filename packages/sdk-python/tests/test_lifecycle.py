"""How a run ends with its process: exit status, exceptions, signals, SIGKILL, fork."""

from __future__ import annotations

import os
import signal
import time

import pytest
from conftest import raw_points, run_python, spawn_python

from swanlog._reader import RunReader


def sessions_of(logdir):
    (name,) = [n for n in os.listdir(logdir) if n.startswith("run-")]
    r = RunReader(os.path.join(logdir, name))
    try:
        return os.path.join(logdir, name), [s.end_state for s in r.sessions()]
    finally:
        r.close()


CHILD = """
import os, signal, sys, swanlog
run = swanlog.init(logdir={logdir!r}, flush_interval=60)
for i in range(10):
    run.log({{"a": i}})
{tail}
"""


@pytest.mark.parametrize(
    "tail,state,status",
    [
        ("pass", "finished", 0),
        ("raise ValueError('boom')", "crashed", 1),
        ("raise KeyboardInterrupt", "aborted", -signal.SIGINT),
        ("sys.exit(3)", "crashed", 3),
        ("sys.exit(0)", "finished", 0),
        ("os.kill(os.getpid(), signal.SIGTERM)", "aborted", -signal.SIGTERM),
        ("os.kill(os.getpid(), signal.SIGINT)", "aborted", -signal.SIGINT),
    ],
)
def test_the_process_end_decides_the_run_state(logdir, tail, state, status):
    result = run_python(CHILD.format(logdir=logdir, tail=tail))
    assert result.returncode == status, result.stderr
    run_dir, states = sessions_of(logdir)
    assert states == [state]
    # Every point logged before the end is on disk, whatever the end (the flush interval is 60 s).
    assert [p[0] for p in raw_points(run_dir, "a")] == list(range(10))


def test_sigterm_with_a_users_handler_flushes_and_lets_it_decide(logdir):
    code = f"""
import signal, sys, time, swanlog
stop = []
signal.signal(signal.SIGTERM, lambda s, f: stop.append(s))
run = swanlog.init(logdir={logdir!r}, flush_interval=60)
for i in range(5):
    run.log({{"a": i}})
print("ready", flush=True)
while not stop:
    time.sleep(0.01)
time.sleep(0.5)
print("flushed", run.flushed_through, flush=True)
"""
    import subprocess

    child = spawn_python(code, stdout=subprocess.PIPE)
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGTERM)
    line = child.stdout.readline().split()
    assert child.wait(timeout=30) == 0
    assert line == ["flushed", "5"]
    assert sessions_of(logdir)[1] == ["finished"]


def test_sigkill_leaves_a_crashed_run_that_resumes(logdir):
    import subprocess

    code = f"""
import time, swanlog
run = swanlog.init(logdir={logdir!r}, id="killed", resume="allow", flush_interval=0)
for i in range(20):
    run.log({{"a": i}})
print("ready", flush=True)
time.sleep(60)
"""
    child = spawn_python(code, stdout=subprocess.PIPE)
    assert child.stdout.readline().strip() == "ready"
    child.kill()
    child.wait()
    run_dir, states = sessions_of(logdir)
    assert states == [None]  # no end recorded: readers derive crashed from the dead pid
    import swanlog

    run = swanlog.init(logdir=logdir, id="killed", resume="must")
    assert run.step == 20
    run.finish()
    assert sessions_of(logdir)[1] == ["crashed", "finished"]


def test_a_forked_child_cannot_log_through_its_parents_run(logdir):
    code = f"""
import os, sys, swanlog
run = swanlog.init(logdir={logdir!r})
run.log({{"a": 1}})
pid = os.fork()
if pid == 0:
    try:
        run.log({{"a": 2}})
    except swanlog.SwanlogError as e:
        print(e.code, "forked child" in e.message, flush=True)
    sys.exit(0)  # the child's exit must not end the parent's run
os.waitpid(pid, 0)
run.log({{"a": 3}})
run.finish()
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["CONFLICT", "True"]
    run_dir, states = sessions_of(logdir)
    assert states == ["finished"]
    assert [p[1] for p in raw_points(run_dir, "a")] == [1.0, 3.0]


def test_processes_write_one_run_each_in_its_own_file(logdir):
    code = """
import sys, swanlog
rank = int(sys.argv[1]) if len(sys.argv) > 1 else 0
run = swanlog.init(logdir={logdir!r}, id="ddp", resume="allow")
for i in range(200):
    run.log({{f"rank{{rank}}/loss": i}}, step=i)
run.finish()
"""
    children = [
        spawn_python(f"import sys; sys.argv=['x', '{rank}']\n" + code.format(logdir=logdir)) for rank in range(3)
    ]
    assert [c.wait(timeout=60) for c in children] == [0, 0, 0]
    run_dir, states = sessions_of(logdir)
    assert states == ["finished"] * 3
    assert len(os.listdir(os.path.join(run_dir, "writers"))) == 3
    for rank in range(3):
        assert [p[0] for p in raw_points(run_dir, f"rank{rank}/loss")] == list(range(200))


def test_heartbeat_is_written(logdir):
    import swanlog

    run = swanlog.init(logdir=logdir)
    r = RunReader(run.dir)
    try:
        (s,) = r.sessions()
        assert abs(r.heartbeat(s.source) - time.time() * 1000) < 60_000
    finally:
        r.close()
    run.finish()
