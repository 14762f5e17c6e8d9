"""Creating a run directory (docs/format.md "Creating a run"): claim the id, build, rename."""

from __future__ import annotations

import json
import os
import shutil
import time

from ._errors import SwanlogError, storage_error
from ._format import (
    RUN_FILE,
    RUN_SCHEMA,
    connect,
    current_process,
    find_run_dir,
    host_name,
    is_writer_alive,
    now_ms,
    run_dir_name,
    stamp_format,
)

CLAIMS_DIR = os.path.join(".swanlog", "claims")
CLAIM_WAIT_S = 30.0
CLAIM_STALE_S = 10.0


def create_run(
    logdir: str,
    run_id: str,
    project: str,
    workspace: str | None,
    name: str | None,
    config: dict | None,
) -> tuple[str, bool]:
    """(directory, created): two processes creating one id end in one directory; the loser gets created=False."""
    logdir = os.path.abspath(logdir)
    try:
        claim = _claim(logdir, run_id)
    except OSError as error:
        raise storage_error(
            error,
            logdir,
            "create a run in",
            {
                "STORAGE_READ_ONLY": f"a new run needs to write in the log directory {logdir}: remount it read-write, make it writable for this user, or point logdir (SWANLOG_LOGDIR) to a writable directory"
            },
        ) from error
    if isinstance(claim, tuple):
        return claim[0], False
    directory = os.path.join(logdir, run_dir_name(run_id))
    tmp = os.path.join(logdir, f".tmp-{os.getpid()}-{now_ms()}")
    try:
        os.makedirs(os.path.join(tmp, "writers"))
        _write_run_file(os.path.join(tmp, RUN_FILE), run_id, project, workspace, name, config)
        os.rename(tmp, directory)
        # The directory now claims the id by its name; the claim file only guarded its creation.
        _remove(claim)
    except BaseException as error:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove(claim)
        wrapped = storage_error(error, directory, "create") if isinstance(error, Exception) else error
        if wrapped is not error:
            raise wrapped from error
        raise
    return directory, True


def _write_run_file(path: str, run_id: str, project: str, workspace: str | None, name: str | None, config: dict | None) -> None:
    db = connect(path)
    try:
        stamp_format(db)
        db.executescript(RUN_SCHEMA)
        now = now_ms()
        db.execute("BEGIN")
        rows = [("format", "1"), ("id", run_id), ("project", project)]
        if workspace is not None:
            rows.append(("workspace", workspace))
        if name is not None:
            rows.append(("name", name))
        rows.append(("created_at", str(now)))
        db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows)
        if config:
            db.execute(
                "INSERT INTO config_revisions (rev, ts, source, patch) VALUES (1, ?, NULL, ?)",
                (now, json.dumps(config, ensure_ascii=False, allow_nan=False, separators=(",", ":"))),
            )
        db.execute("COMMIT")
    finally:
        db.close()


def _claim(logdir: str, run_id: str) -> str | tuple[str]:
    os.makedirs(os.path.join(logdir, CLAIMS_DIR), exist_ok=True)
    claim_path = os.path.join(logdir, CLAIMS_DIR, run_id)
    while True:
        existing = find_run_dir(logdir, run_id)
        if existing is not None:
            return (existing,)
        if _try_claim(claim_path):
            # The previous holder may have finished between our look and our claim: look again.
            created = find_run_dir(logdir, run_id)
            if created is None:
                return claim_path
            _remove(claim_path)
            return (created,)
        found = _wait_for_run_dir(logdir, run_id, claim_path)
        if found is not None:
            return (found,)


def _try_claim(claim_path: str) -> bool:
    try:
        fd = os.open(claim_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, json.dumps(current_process(), separators=(",", ":")).encode())
    finally:
        os.close(fd)
    return True


def _wait_for_run_dir(logdir: str, run_id: str, claim_path: str) -> str | None:
    deadline = time.monotonic() + CLAIM_WAIT_S
    while time.monotonic() < deadline:
        found = find_run_dir(logdir, run_id)
        if found is not None:
            return found
        try:
            with open(claim_path, encoding="utf-8") as f:
                text = f.read()
            age = time.time() - os.stat(claim_path).st_mtime
        except FileNotFoundError:
            return None
        try:
            holder = json.loads(text)
        except ValueError:
            holder = None  # still being written
        dead = (
            isinstance(holder, dict)
            and holder.get("host") == host_name()
            and not is_writer_alive(holder["host"], int(holder.get("pid", 0)), str(holder.get("pidStart", "")), None)
        )
        if dead or age > CLAIM_STALE_S:
            if find_run_dir(logdir, run_id) is not None:
                continue
            _remove(claim_path)
            return None
        time.sleep(0.02)
    raise SwanlogError(
        "CONFLICT",
        f"run id {run_id} is claimed in {logdir} but its directory never appeared",
        f"if no other process is creating it, remove {claim_path} and retry",
    )


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
