"""`swanlog.init()`: start a run, or resume one by id (the TS SDK's table, packages/sdk/src/init.ts).

| resume          | run with this id exists | does not exist         |
|-----------------|-------------------------|------------------------|
| must            | reopen it               | RUN_NOT_FOUND          |
| allow / True    | reopen it               | new run with that id   |
| never (default) | an id is INVALID_OPTION | new run, fresh id      |
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping

from ._cloud import CloudUploader, fetch_status, pull_run
from ._create import create_run
from ._errors import SwanlogError
from ._format import RUN_FILE, find_run_dir, generate_run_id, open_swanlog_file
from ._options import Resolved, resolve_options
from ._reader import RunReader, deep_merge
from ._run import Run
from ._writer import RunWriter

current: Run | None = None


def init(
    project: str | None = None,
    workspace: str | None = None,
    name: str | None = None,
    config: Mapping | None = None,
    mode: str | None = None,
    logdir: str | None = None,
    id: str | None = None,  # noqa: A002 - SwanLab's and W&B's name for it
    resume: bool | str | None = None,
    from_step: int | None = None,
    flush_interval: float | None = None,
    *,
    experiment_name: str | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    on_invalid: str | None = None,
    host: str | None = None,
    api_key: str | None = None,
    finish_timeout: float | None = None,
) -> Run:
    """Starts a run (or resumes one by id) and makes it the current run of `swanlog.log()`.

    Unset options come from SWANLOG_* environment variables (SWANLAB_RUN_ID and SWANLAB_RESUME
    are aliases). `flush_interval` and `finish_timeout` are in seconds.
    """
    global current
    o = resolve_options(
        {
            "project": project,
            "workspace": workspace,
            "name": name,
            "experiment_name": experiment_name,
            "config": config,
            "mode": mode,
            "logdir": logdir,
            "id": id,
            "resume": resume,
            "from_step": from_step,
            "flush_interval": flush_interval,
            "description": description,
            "tags": tags,
            "on_invalid": on_invalid,
            "host": host,
            "api_key": api_key,
            "finish_timeout": finish_timeout,
        }
    )
    if o.mode == "disabled":
        run = _disabled_run(o)
    elif o.mode == "cloud":
        run = _cloud_run(o)
    else:
        run = _open_run(o, *_locate(o, os.path.abspath(o.logdir)))
    current = run
    return run


def _locate(o: Resolved, logdir: str) -> tuple[str, bool]:
    if o.id is not None:
        existing = find_run_dir(logdir, o.id)
        if existing is not None:
            return existing, False
        if o.resume == "must":
            raise SwanlogError(
                "RUN_NOT_FOUND",
                f"no run with id {o.id} under {logdir}",
                "check the id and the logdir (SWANLOG_LOGDIR), or use resume='allow' to create the run",
            )
    directory, created = create_run(logdir, o.id or generate_run_id(), o.project, o.workspace, o.name, o.config)
    if created and (o.description is not None or o.tags):
        _write_extra_meta(directory, o)
    return directory, created


def _write_extra_meta(directory: str, o: Resolved) -> None:
    db = open_swanlog_file(os.path.join(directory, RUN_FILE), "run")
    try:
        rows = []
        if o.description is not None:
            rows.append(("description", o.description))
        if o.tags:
            rows.append(("tags", json.dumps(o.tags, ensure_ascii=False)))
        db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", rows)
    finally:
        db.close()


def _open_run(o: Resolved, directory: str, created: bool, seed_floor: int | None = None, min_clock: int = 0) -> Run:
    writer = RunWriter(
        directory,
        resumed=not created,
        from_step=o.from_step if not created else None,
        config_patch=o.config if not created else None,
        flush_interval=o.flush_interval,
        min_clock=min_clock,
    )
    reader = RunReader(directory)
    try:
        config = reader.config()
        meta = reader.meta
    finally:
        reader.close()
    floor = _max_or_none(int(meta["seed_last_step"]) if "seed_last_step" in meta else None, seed_floor)
    tags = json.loads(meta["tags"]) if "tags" in meta else o.tags
    return Run(
        id=meta["id"],
        dir=directory,
        mode=o.mode,
        project=meta.get("project", ""),
        workspace=meta.get("workspace"),
        name=meta.get("name"),
        config=config,
        resumed=not created,
        from_step=o.from_step,
        writer=writer,
        last_step_floor=floor,
        on_invalid=o.on_invalid,
        description=meta.get("description", o.description),
        tags=tags,
    )


def _cloud_run(o: Resolved) -> Run:
    """The TS SDK's cloud resume (packages/sdk/src/cloud-init.ts), with the upload done by the CLI."""
    uploader = CloudUploader.locate(o)
    logdir = os.path.abspath(o.logdir)
    if o.id is None:
        directory, created = _locate(o, logdir)
        return _start_cloud(o, uploader, directory, created, 0, None)
    local = find_run_dir(logdir, o.id)
    try:
        status = fetch_status(o.host, o.api_key, o.id)
    except SwanlogError as error:
        if error.code != "SERVER_UNREACHABLE" or local is None:
            raise
        warnings.warn(f"{error.message}; logging run {o.id} offline, it uploads when the server is back", RuntimeWarning, stacklevel=3)
        status = None
    if local is not None:
        if status is None:
            return _start_cloud(o, uploader, local, False, 0, None)
        _check_diverged(o, local, status)
        return _start_cloud(o, uploader, local, False, status["maxTs"], status["lastStep"])
    if status is not None:
        # No local history: `swanlog pull` seeds a partial directory from the server.
        directory = pull_run(uploader.cli, o)
        return _start_cloud(o, uploader, directory, False, status["maxTs"], status["lastStep"])
    if o.resume == "must":
        raise SwanlogError(
            "RUN_NOT_FOUND",
            f"no experiment {o.id} on {o.host} and no local run with that id under {logdir}",
            "check the id and the workspace of your API key, or use resume='allow' to create it",
        )
    directory, created = _locate(o, logdir)
    return _start_cloud(o, uploader, directory, created, 0, None)


def _check_diverged(o: Resolved, directory: str, status: dict) -> None:
    reader = RunReader(directory)
    try:
        local = reader.source_max_seqs()
        seeded_at = int(reader.meta.get("seed_max_ts", "0")) if reader.meta.get("partial") == "1" else None
    finally:
        reader.close()
    sessions = status.get("sessions", {})

    def stands_in_seed(source: str) -> bool:
        # A seeded directory lacks by design the writes of sessions that started before its seeding.
        session = sessions.get(source)
        return seeded_at is not None and session is not None and session.get("clockStart", 0) <= seeded_at

    missing = [s for s, w in status.get("watermarks", {}).items() if w > local.get(s, -1) and not stands_in_seed(s)]
    if missing and o.from_step is None:
        raise SwanlogError(
            "RUN_DIVERGED",
            f"run {o.id}: the server holds writes that {directory} lacks ({len(missing)} writer session(s) from elsewhere)",
            "resume with from_step=<the step of the checkpoint you restored>, or move this directory away to resume from the server",
        )


def _start_cloud(o: Resolved, uploader: CloudUploader, directory: str, created: bool, min_clock: int, floor: int | None) -> Run:
    run = _open_run(o, directory, created, seed_floor=floor, min_clock=min_clock)
    run._uploader = uploader
    run._finish_timeout = o.finish_timeout
    uploader.start(run)
    return run


def _max_or_none(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _disabled_run(o: Resolved) -> Run:
    return Run(
        id=o.id or generate_run_id(),
        dir=None,
        mode="disabled",
        project=o.project,
        workspace=o.workspace,
        name=o.name,
        config=deep_merge({}, o.config or {}),
        resumed=False,
        from_step=None,
        writer=None,
        last_step_floor=None,
        on_invalid=o.on_invalid,
        description=o.description,
        tags=o.tags,
    )
