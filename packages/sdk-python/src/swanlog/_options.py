"""init() options: what is unset comes from SWANLOG_* (SWANLAB_RUN_ID, SWANLAB_RESUME) variables,
checked as the TS SDK checks them (packages/sdk/src/options.ts)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ._errors import SwanlogError
from ._format import assert_run_id
from ._values import check_finite_json, describe_value, is_valid_name, show

MODES = ("offline", "local", "cloud", "disabled")
RESUME_WORDS = {
    "must": "must",
    "allow": "allow",
    "never": "never",
    "true": "allow",
    "false": "never",
    "1": "allow",
    "0": "never",
    "yes": "allow",
    "no": "never",
}


@dataclass
class Resolved:
    mode: str
    resume: str
    id: str | None
    from_step: int | None
    logdir: str
    project: str
    workspace: str | None
    name: str | None
    config: dict | None
    flush_interval: float
    on_invalid: str
    description: str | None
    tags: list[str] | None
    host: str | None = None
    api_key: str | None = None
    finish_timeout: float = 30.0


def env_value(env: Mapping[str, str], name: str) -> str | None:
    v = env.get(name)
    return None if v is None or v == "" else v


def resolve_options(o: dict, env: Mapping[str, str] | None = None, cwd: str | None = None) -> Resolved:
    env = os.environ if env is None else env
    cwd = os.getcwd() if cwd is None else cwd
    mode = _mode(o.get("mode"), env)
    resume = _resume(o.get("resume"), env)
    given_id = o.get("id")
    if given_id is not None:
        run_id, id_source = given_id, "id"
    elif env_value(env, "SWANLOG_RUN_ID") is not None:
        run_id, id_source = env_value(env, "SWANLOG_RUN_ID"), "SWANLOG_RUN_ID"
    else:
        run_id, id_source = env_value(env, "SWANLAB_RUN_ID"), "SWANLAB_RUN_ID"
    if run_id is not None:
        assert_run_id(run_id, id_source)
    from_step = _from_step(o.get("from_step"), env)
    if run_id is not None and resume == "never":
        raise SwanlogError(
            "INVALID_OPTION",
            f"{id_source} {show(run_id)} is set but resume is 'never'",
            "use resume='allow' (or SWANLOG_RESUME=allow) to resume the run with that id or create it",
        )
    if run_id is None and resume == "must":
        raise SwanlogError(
            "INVALID_OPTION",
            "resume='must' needs the id of the run to resume",
            "pass id (or set SWANLOG_RUN_ID) to the id printed when the run started",
        )
    if from_step is not None and run_id is None:
        raise SwanlogError(
            "INVALID_OPTION",
            f"from_step {from_step} rewinds a resumed run, but no run id is given",
            "pass id and resume='must' with from_step, e.g. from a checkpoint",
        )
    interval = o.get("flush_interval")
    interval = 1.0 if interval is None else interval
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not math.isfinite(interval) or interval < 0:
        raise SwanlogError(
            "INVALID_OPTION",
            f"flush_interval {interval!r} is not a number of seconds >= 0",
            "use 1.0 (the default), or 0 to flush on every log()",
        )
    on_invalid = o.get("on_invalid") or "raise"
    if on_invalid not in ("raise", "warn"):
        raise SwanlogError("INVALID_OPTION", f"on_invalid {on_invalid!r} is not 'raise' or 'warn'", "use 'raise' (the default) or 'warn'")
    name = o.get("name")
    if name is None:
        name = o.get("experiment_name")
    config = o.get("config")
    if config is not None:
        if not isinstance(config, Mapping):
            raise SwanlogError("INVALID_VALUE", f"config must be a dict, got {describe_value(config)}", "pass config as {key: value, ...}")
        config = check_finite_json(config, "config")
    tags = o.get("tags")
    if tags is not None:
        if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
            raise SwanlogError("INVALID_OPTION", f"tags {tags!r} is not a list of strings", 'pass tags=["baseline", "v2"]')
        tags = list(tags)
    description = o.get("description")
    if description is not None and not isinstance(description, str):
        raise SwanlogError("INVALID_OPTION", f"description {description!r} is not a string", "pass a short text")
    r = Resolved(
        mode=mode,
        resume=resume,
        id=run_id,
        from_step=from_step,
        logdir=_first(o.get("logdir"), env_value(env, "SWANLOG_LOGDIR"), "./swanlog"),
        project=_check_name("project", _first(o.get("project"), env_value(env, "SWANLOG_PROJECT"), os.path.basename(cwd) or "default")),
        workspace=_nullable("workspace", _first(o.get("workspace"), env_value(env, "SWANLOG_WORKSPACE"))),
        name=_nullable("name", name),
        config=config,
        flush_interval=float(interval),
        on_invalid=on_invalid,
        description=description,
        tags=tags,
    )
    if mode == "cloud":
        _cloud(r, o, env)
    return r


def _cloud(r: Resolved, o: dict, env: Mapping[str, str]) -> None:
    host = _first(o.get("host"), env_value(env, "SWANLOG_HOST"))
    api_key = _first(o.get("api_key"), env_value(env, "SWANLOG_API_KEY"))
    if host is None or not re.match(r"^https?://\S+$", host):
        raise SwanlogError(
            "INVALID_OPTION",
            f"cloud mode needs the server's URL; host is {show(host)}",
            "pass host (or set SWANLOG_HOST), e.g. http://swanlog.internal:5090",
        )
    if api_key is None:
        raise SwanlogError(
            "INVALID_OPTION",
            "cloud mode needs an API key with write scope",
            "pass api_key (or set SWANLOG_API_KEY); create one with `swanlog server key create`",
        )
    timeout = o.get("finish_timeout")
    timeout = 30.0 if timeout is None else timeout
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout < 0:
        raise SwanlogError("INVALID_OPTION", f"finish_timeout {timeout!r} is not a number of seconds >= 0", "the default is 30")
    r.host = host.rstrip("/")
    r.api_key = api_key
    r.finish_timeout = float(timeout)


def _mode(option: object, env: Mapping[str, str]) -> str:
    raw = option if option is not None else (env_value(env, "SWANLOG_MODE") or "offline")
    mode = raw.lower() if option is None and isinstance(raw, str) else raw
    if mode not in MODES:
        source = "SWANLOG_MODE" if option is None else "mode"
        raise SwanlogError("INVALID_OPTION", f"{source} {show(raw)} is not a mode", "use offline, local, cloud or disabled")
    return mode  # type: ignore[return-value]


def _resume(option: object, env: Mapping[str, str]) -> str:
    if option is not None:
        if option is True:
            return "allow"
        if option is False:
            return "never"
        if option in ("must", "allow", "never"):
            return option  # type: ignore[return-value]
        raise SwanlogError("INVALID_OPTION", f"resume {show(option)} is not a resume value", "use 'must', 'allow', 'never', True or False")
    for name in ("SWANLOG_RESUME", "SWANLAB_RESUME"):
        raw = env_value(env, name)
        if raw is None:
            continue
        value = RESUME_WORDS.get(raw.strip().lower())
        if value is None:
            raise SwanlogError(
                "INVALID_OPTION",
                f"{name}={show(raw)} is not a resume value",
                "use must, allow, never, true, false, 1, 0, yes or no (any case)",
            )
        return value
    return "never"


def _from_step(option: object, env: Mapping[str, str]) -> int | None:
    if option is not None:
        if isinstance(option, bool) or not isinstance(option, int) or not 0 <= option <= 2**53 - 1:
            if not (isinstance(option, float) and option.is_integer() and 0 <= option <= 2**53 - 1):
                raise SwanlogError(
                    "INVALID_OPTION",
                    f"from_step {option!r} is not a step",
                    "from_step is a non-negative integer: the step saved with the checkpoint you restored",
                )
        return int(option)  # type: ignore[arg-type]
    raw = env_value(env, "SWANLOG_RESUME_FROM_STEP")
    if raw is None:
        return None
    text = raw.strip()
    if not re.fullmatch(r"\d+", text, flags=re.ASCII) or int(text) > 2**53 - 1:
        raise SwanlogError(
            "INVALID_OPTION",
            f"SWANLOG_RESUME_FROM_STEP={show(raw)} is not a step",
            "set it to a non-negative integer, the step of the checkpoint you restored",
        )
    return int(text)


def _check_name(label: str, value: object) -> str:
    if not is_valid_name(value):
        shown = show(value) if isinstance(value, str) else describe_value(value)
        raise SwanlogError(
            "INVALID_OPTION",
            f"{label} {shown} is not a valid {label}",
            f"a {label} is 1-255 characters of well-formed text (no lone surrogate) without control characters",
        )
    return value  # type: ignore[return-value]


def _nullable(label: str, value: object) -> str | None:
    return None if value is None else _check_name(label, value)


def _first(*values: object):
    """The first value that is not None (as `??` in the TS SDK: an empty string is a value)."""
    for v in values:
        if v is not None:
            return v
    return None
