"""Shared helpers: the TS CLI of this checkout, a reader of a run's points, child processes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# The tests test this checkout's code, also when a copy of the package is installed in the venv.
sys.path.insert(0, os.path.join(REPO, "packages", "sdk-python", "src"))

import swanlog  # noqa: E402
from swanlog._codec import decode_chunk  # noqa: E402
# The TS workspace the cross-language tests drive: this checkout, or another build of it.
TS_ROOT = os.environ.get("SWANLOG_TS_ROOT", REPO)
CLI_JS = os.path.join(TS_ROOT, "apps", "cli", "bin", "swanlog.js")
SDK_DIST = os.path.join(TS_ROOT, "packages", "sdk", "dist", "index.js")
NODE = shutil.which("node")
HAVE_TS = NODE is not None and os.path.exists(os.path.join(TS_ROOT, "apps", "cli", "dist", "cli.js")) and os.path.exists(SDK_DIST)

needs_ts = pytest.mark.skipif(not HAVE_TS, reason="the TS workspace is not built (pnpm install builds it)")


def cli(*args: str, check: bool = True, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs the TS CLI (`swanlog ...`) of this checkout."""
    result = subprocess.run(
        [NODE, CLI_JS, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"swanlog {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def export(run_dir: str, *extra: str) -> list[dict]:
    out = cli("export", run_dir, *extra).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def run_state(run_dir: str) -> str:
    rows = json.loads(cli("ls", os.path.dirname(run_dir), "--json").stdout)
    rows = rows if isinstance(rows, list) else rows.get("runs", [])
    for r in rows:
        if os.path.abspath(r["dir"]) == os.path.abspath(run_dir):
            return r["state"]
    raise AssertionError(f"{run_dir} not listed: {rows}")


def raw_points(run_dir: str, key: str) -> list[tuple[int, float, int, int, str]]:
    """Every stored point of `key` from every writer file: (step, value, ts, seq, source), read from the bytes."""
    out = []
    wdir = os.path.join(run_dir, "writers")
    for name in sorted(os.listdir(wdir)):
        if not name.endswith(".sqlite"):
            continue
        db = sqlite3.connect(f"file:{os.path.join(wdir, name)}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT id FROM keys WHERE name = ?", (key,)).fetchone()
            if row is None:
                continue
            for (data,) in db.execute("SELECT data FROM chunks WHERE key_id = ? ORDER BY seq_min", (row[0],)):
                steps, values, ts, seqs = decode_chunk(data)
                out.extend((s, v, t, q, name[:-7]) for s, v, t, q in zip(steps, values, ts, seqs))
        finally:
            db.close()
    return out


def run_python(code: str, *, env: dict | None = None, cwd: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter with this package importable."""
    full_env = _child_env(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def spawn_python(code: str, *, env: dict | None = None, cwd: str | None = None, **kw) -> subprocess.Popen:
    full_env = _child_env(env)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=full_env, cwd=cwd, text=True, **kw)


def _child_env(env: dict | None) -> dict:
    """The environment of a child interpreter: it imports the same swanlog as the tests do."""
    full_env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(swanlog.__file__)))
    full_env["PYTHONPATH"] = here + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    return full_env


def run_node(code: str, *, env: dict | None = None, cwd: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs an ES module that can `import { initSync } from SDK` (the TS SDK of this checkout)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    script = f"const SDK = {json.dumps('file://' + SDK_DIST)};\n" + textwrap.dedent(code)
    return subprocess.run(
        [NODE, "--input-type=module", "-e", script], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout, check=False
    )


@pytest.fixture
def logdir(tmp_path, monkeypatch):
    """A fresh log directory, with no SWANLOG_*/SWANLAB_* variables of the caller leaking in."""
    for name in list(os.environ):
        if name.startswith("SWANLOG_") or name.startswith("SWANLAB_"):
            monkeypatch.delenv(name)
    d = tmp_path / "logs"
    d.mkdir()
    monkeypatch.chdir(tmp_path)
    return str(d)


@pytest.fixture(autouse=True)
def _end_open_runs():
    yield
    from swanlog import _lifecycle

    for run in list(_lifecycle._open.values()):
        try:
            run.end_now("finished")
        except Exception:  # noqa: BLE001 - a test that left a broken run must not break the next
            pass
