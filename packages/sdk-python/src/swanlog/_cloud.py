"""Cloud mode without a network stack of our own: the `swanlog` CLI's sync engine runs beside the
trainer (`swanlog sync --watch <run dir>`), reading the run directory, which stays the source of
truth. The child runs in its own session, so it outlives a SIGKILLed trainer, finishes the upload
once the run reads crashed, and exits."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

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


def pull_run(cli: str, o) -> str | None:
    """Seeds a partial directory for a server's experiment with `swanlog pull`; None when the
    server has no such experiment and resume='allow' (a new run is created then)."""
    logdir = os.path.abspath(o.logdir)
    env = dict(os.environ)
    env["SWANLOG_HOST"] = o.host
    env["SWANLOG_API_KEY"] = o.api_key
    result = subprocess.run(
        [cli, "pull", o.id, "--logdir", logdir],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0:
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
    if code == "RUN_NOT_FOUND" and o.resume == "allow":
        return None
    raise SwanlogError(code, f"`swanlog pull {o.id}` failed: {text}", "see the message above")
