"""Cloud mode: the swanlog CLI's `sync --watch` uploads beside the trainer (real server, port 0)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from conftest import CLI_JS, NODE, cli, needs_ts, run_python, spawn_python

import swanlog
from swanlog import SwanlogError

pytestmark = needs_ts


@pytest.fixture
def server(tmp_path):
    data = str(tmp_path / "server")
    key = cli("server", "key", "create", "--data", data, "--workspace", "team").stdout.strip().split()[-1]
    proc = subprocess.Popen([NODE, CLI_JS, "server", "--data", data, "--port", "0"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("listening on "), line
    yield line.split()[-1], key
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def cli_on_path(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "swanlog"
    script.write_text(f'#!/bin/sh\nexec {NODE} {CLI_JS} "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return str(bin_dir)


def get(url, key, path):
    req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def wait_for(fn, seconds=60.0):
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


def test_cloud_mode_without_a_cli_on_path_says_how_to_fix_it(logdir, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SwanlogError) as e:
        swanlog.init(mode="cloud", host="http://127.0.0.1:9", api_key="k", logdir=logdir)
    assert e.value.code == "INVALID_OPTION" and "swanlog" in e.value.message and "mode='offline'" in e.value.hint
    assert os.listdir(logdir) == []


def test_cloud_mode_uploads_while_training_and_finish_waits(logdir, server, cli_on_path, capfd):
    url, key = server
    run = swanlog.init(mode="cloud", host=url, api_key=key, id="live", resume="allow", logdir=logdir, finish_timeout=60)
    assert "uploading run live" in capfd.readouterr().err
    for i in range(200):
        run.log({"loss": 1 / (i + 1)})
    run.finish()
    exp = get(url, key, "/api/v1/experiments/live")
    assert exp["state"] == "finished" and exp["lastStep"] == 199
    served = get(url, key, "/api/v1/experiments/live/metrics/loss")["points"]
    assert [(p["step"], p["value"]) for p in served] == [(i, 1 / (i + 1)) for i in range(200)]


def test_the_upload_outlives_a_sigkilled_trainer(logdir, server, cli_on_path):
    url, key = server
    child = spawn_python(
        f"""
import time, swanlog
run = swanlog.init(mode="cloud", host={url!r}, api_key={key!r}, id="killed", resume="allow", logdir={logdir!r}, flush_interval=0)
for i in range(50):
    run.log({{"loss": i}})
print("ready", flush=True)
time.sleep(120)
""",
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={"PATH": os.environ["PATH"]},
    )
    assert child.stdout.readline().strip() == "ready"
    child.kill()
    child.wait()
    exp = wait_for(lambda: (e := get(url, key, "/api/v1/experiments/killed"))["state"] == "crashed" and e)
    assert exp["lastStep"] == 49


def _cli_has_pull() -> bool:
    return " pull " in cli("--help", check=False).stdout


@pytest.mark.skipif(not _cli_has_pull() if os.path.exists(CLI_JS) else True, reason="the CLI has no `swanlog pull` yet")
def test_cloud_resume_of_an_id_without_a_local_directory_pulls_it(logdir, server, cli_on_path, tmp_path):
    url, key = server
    elsewhere = str(tmp_path / "elsewhere")
    result = run_python(
        f"""
import swanlog
run = swanlog.init(mode="cloud", host={url!r}, api_key={key!r}, id="moved", resume="allow", logdir={elsewhere!r}, config={{"lr": 0.1}}, finish_timeout=60)
for i in range(10):
    run.log({{"loss": i}})
run.finish()
""",
        env={"PATH": os.environ["PATH"]},
    )
    assert result.returncode == 0, result.stderr
    run = swanlog.init(mode="cloud", host=url, api_key=key, id="moved", resume="must", logdir=logdir, finish_timeout=60)
    assert run.step == 10 and run.config == {"lr": 0.1}
    run.log({"loss": 10})
    run.finish()
    served = get(url, key, "/api/v1/experiments/moved/metrics/loss")["points"]
    assert [p["step"] for p in served] == list(range(11))
