"""Cloud mode without a network stack of our own: the `swanlog` CLI's sync engine runs beside the
trainer (`swanlog sync --watch <run dir>`), reading the run directory, which stays the source of
truth. The child runs in its own session, so it outlives a SIGKILLed trainer, finishes the upload
once the run reads crashed, and exits."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

from ._errors import ERROR_CODES, SwanlogError
from ._format import find_run_dir


class CloudUploader:
    def __init__(self, cli: str, host: str, api_key: str) -> None:
        self.cli = cli
        self.host = host
        self.api_key = api_key
        self.proc: subprocess.Popen | None = None
        self.run = None

    @staticmethod
    def locate(o) -> CloudUploader:
        cli = shutil.which("swanlog")
        if cli is None:
            raise SwanlogError(
                "INVALID_OPTION",
                "mode='cloud' uploads through the swanlog CLI (`swanlog sync --watch`), and no `swanlog` is on PATH",
                "install the swanlog CLI on this machine (or put it on PATH), or use mode='offline' and run `swanlog sync <logdir>` where the CLI is",
            )
        return CloudUploader(cli, o.host, o.api_key)

    def env(self) -> dict:
        env = dict(os.environ)
        env["SWANLOG_HOST"] = self.host
        env["SWANLOG_API_KEY"] = self.api_key
        return env

    def start(self, run) -> None:
        self.run = run
        self.proc = subprocess.Popen(
            [self.cli, "sync", "--watch", run.dir],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        sys.stderr.write(f"swanlog: uploading run {run.id} to {self.host} with `swanlog sync --watch {run.dir}` (pid {self.proc.pid})\n")

    def finish(self, timeout: float) -> None:
        """Waits for the upload to complete, at most `timeout` seconds; says how to finish it otherwise."""
        if self.proc is None:
            return
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        if code == 0:
            return
        why = "the upload did not complete in time" if code is None else f"`swanlog sync --watch` exited with status {code}"
        sys.stderr.write(
            f"swanlog: run {self.run.id} is finished and safe on disk, but not fully uploaded ({why}).\n"
            f"swanlog: finish the upload with: swanlog sync {self.run.dir}\n"
        )

    def detach(self) -> None:
        """At exit or on a signal: the child goes on alone and ends when the run reads ended."""
        self.proc = None


def pull_run(cli: str, o) -> str:
    """Seeds a partial directory for a server's experiment with `swanlog pull <id> --logdir`."""
    logdir = os.path.abspath(o.logdir)
    env = dict(os.environ)
    env["SWANLOG_HOST"] = o.host
    env["SWANLOG_API_KEY"] = o.api_key
    result = subprocess.run(
        [cli, "pull", o.id, "--logdir", logdir, "--json"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
        try:
            found = json.loads(result.stdout)["dir"]
        except (ValueError, KeyError, TypeError):
            found = find_run_dir(logdir, o.id)
        if found is None:
            raise SwanlogError(
                "RUN_NOT_FOUND",
                f"`swanlog pull {o.id}` succeeded but left no run directory under {logdir}",
                "run it by hand to see what it printed",
            )
        return found
    text = (result.stderr or result.stdout).strip()
    if "unknown command" in text:
        raise SwanlogError(
            "INVALID_OPTION",
            f"the swanlog CLI at {cli} has no `pull` command, which cloud resume of {o.id} needs",
            "upgrade the swanlog CLI, or copy the run directory here and resume offline",
        )
    codes = [c for c in re.findall(r"\b[A-Z][A-Z_]+\b", text) if c in ERROR_CODES]
    code = codes[0] if codes else "SERVER_ERROR"
    raise SwanlogError(code, f"`swanlog pull {o.id}` failed: {text}", "see the message above")


def fetch_status(host: str, api_key: str, run_id: str) -> dict | None:
    """The server's SyncStatus of experiment `run_id` (GET /api/v1/experiments/:id/sync); None when it has none."""
    url = f"{host}/api/v1/experiments/{urllib.parse.quote(run_id, safe='')}/sync"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as error:
        try:
            body = json.loads(error.read())
        except ValueError:
            body = {}
        code = body.get("code")
        if error.code == 404 and code in (None, "RUN_NOT_FOUND"):
            return None
        raise SwanlogError(
            code if code in ERROR_CODES else "SERVER_ERROR",
            f"{host} answered {error.code} for experiment {run_id}: {body.get('message', error.reason)}",
            body.get("hint") or "check host and api_key (SWANLOG_HOST, SWANLOG_API_KEY)",
        ) from error
    except (urllib.error.URLError, OSError) as error:
        raise SwanlogError(
            "SERVER_UNREACHABLE",
            f"cannot reach {host} ({getattr(error, 'reason', error)})",
            "check host (SWANLOG_HOST) and the network; offline mode needs no server",
        ) from error
