"""The run handle returned by `init()` (the TS SDK's `Run`, packages/sdk/src/run.ts)."""

from __future__ import annotations

import copy
import sys
import warnings
from collections.abc import Mapping

from . import _lifecycle
from ._errors import SwanlogError
from ._values import collision, describe_value, flatten, invalid_key, invalid_value, is_valid_name, to_float
from ._writer import BadKeys, RunWriter, check_step


_PLAIN = frozenset((float, int, bool))


def _plain_types() -> frozenset:
    """Types the fast path converts with `array.extend`: Python's numbers, and numpy's scalars when
    numpy is loaded (never imported here). Torch tensors stay on the checked path (`.item()`)."""
    np = sys.modules.get("numpy")
    if np is None:
        return _PLAIN
    names = ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "uint16", "uint32", "bool_")
    return _PLAIN | frozenset(getattr(np, n) for n in names if hasattr(np, n))


class SwanlogWarning(UserWarning):
    """A value skipped with on_invalid='warn' (`.key` names it), or a step rewritten without from_step."""

    def __init__(self, message: str, key: object = None) -> None:
        super().__init__(message)
        self.key = key


class Config(dict):
    """The run's config: `config["lr"]` and `config.lr` alike. A copy: changing it stores nothing."""

    def __getattr__(self, name: str):
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None
        return Config(value) if isinstance(value, dict) and not isinstance(value, Config) else value

    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        return Config(value) if isinstance(value, dict) and not isinstance(value, Config) else value


class Run:
    """A run handle. `log()` is cheap: values go into memory and a flush thread commits them."""

    def __init__(
        self,
        *,
        id: str,
        dir: str | None,
        mode: str,
        project: str,
        workspace: str | None,
        name: str | None,
        config: dict,
        resumed: bool,
        from_step: int | None,
        writer: RunWriter | None,
        last_step_floor: int | None,
        on_invalid: str,
        description: str | None = None,
        tags: list | None = None,
    ) -> None:
        self.id = id
        self.dir = dir
        self.mode = mode
        self.project = project
        self.workspace = workspace
        self.name = name
        self.resumed = resumed
        self.description = description
        self.tags = list(tags) if tags else []
        self._writer = writer
        self._plain = _plain_types()
        self._config = config
        self._on_invalid = on_invalid
        self._warned: set = set()
        self._uploader = None
        self._finish_timeout = 30.0
        local = writer.last_visible_step_at_open if writer is not None else None
        if local is None:
            last = last_step_floor
        else:
            last = max(local, last_step_floor if last_step_floor is not None else local)
        self._next = from_step + 1 if from_step is not None else (0 if last is None else last + 1)
        self._highest = -1 if last is None else last
        self._warn_rewrite = resumed and from_step is None and last is not None
        if writer is not None:
            _lifecycle.track(self)

    # ---- properties ----

    @property
    def config(self) -> Config:
        return Config(copy.deepcopy(self._config))

    @property
    def step(self) -> int:
        """The step the next `log()` without a step uses."""
        return self._next

    @property
    def flushed_through(self) -> int:
        """How many `log()` calls of this handle are durable on disk (survive a SIGKILL)."""
        return 0 if self._writer is None else self._writer.flushed_through

    @property
    def logged(self) -> int:
        """How many `log()` calls this handle has taken."""
        return 0 if self._writer is None else self._writer.appended

    @property
    def finished(self) -> bool:
        return self._writer is None or self._writer.is_closed

    # ---- logging ----

    def log(self, data: Mapping, step: int | None = None) -> None:
        """Logs numbers at `step` (default: the counter, which then moves to step + 1).

        `data` maps metric keys to numbers: int, float, bool (as 1/0), numpy scalars and 0-d
        arrays, torch 0-d tensors. Nested dicts flatten with '/'. A bad key or value raises
        SwanlogError INVALID_VALUE and stores nothing of the call (or, with on_invalid='warn',
        skips that key with one warning per key).
        """
        w = self._writer
        if w is None:
            return
        s = self._next if step is None else check_step(self.id, step)
        if type(data) is not dict and not isinstance(data, Mapping):
            raise SwanlogError(
                "INVALID_VALUE",
                f"run {self.id}: log() takes a dict of key -> number, got {describe_value(data)}",
                'pass a dict, e.g. run.log({"loss": 0.25, "acc": 0.91})',
            )
        taken = w._calls
        values = tuple(data.values())
        try:
            # The fast path takes plain numbers only; anything else (numpy, torch, nested dicts,
            # bad values, bad keys) is converted and checked key by key.
            if self._plain.issuperset(map(type, values)):
                try:
                    w.append(tuple(data), values, s)
                except (OverflowError, BadKeys):
                    w.append(*self._checked(data), s)
            else:
                w.append(*self._checked(data), s)
        except BaseException:
            # A STORAGE_FULL raised after the call was taken moves the counter past it too.
            if w._calls > taken:
                self._advance(s)
            raise
        if s > self._highest:
            self._highest = s
        elif self._warn_rewrite:
            self._warn(s)
        self._next = s + 1

    def _checked(self, data: Mapping) -> tuple[tuple, list]:
        """The slow path: flatten nested dicts, convert every value, refuse (or skip) bad ones."""
        pairs, dupes = flatten(data)
        keys: list = []
        values: list = []
        problems: list[tuple[object, SwanlogError]] = []
        for key, value in pairs:
            if not is_valid_name(key):
                problems.append((key, invalid_key(self.id, key)))
                continue
            number = to_float(value)
            if number is None:
                problems.append((key, invalid_value(self.id, key, value)))
                continue
            keys.append(key)
            values.append(number)
        problems.extend((key, collision(self.id, key, count)) for key, count in dupes.items())
        if problems:
            if self._on_invalid == "raise":
                raise problems[0][1]
            for key, error in problems:
                if key in self._warned:
                    continue
                self._warned.add(key)
                warnings.warn(SwanlogWarning(f"swanlog: {error.message}; skipped (on_invalid='warn')", key), stacklevel=4)
        return tuple(keys), values

    def flush(self) -> None:
        """Commits every buffered point now."""
        if self._writer is not None:
            self._writer.flush()

    def finish(self) -> None:
        """Flushes everything and marks the run finished. Safe to call twice.

        A storage failure (STORAGE_FULL) leaves the run open with every unwritten point in memory:
        call finish() again once there is space.
        """
        self._end("finished")

    def _end(self, state: str) -> None:
        w = self._writer
        if w is None or w.is_closed:
            return
        _lifecycle.untrack(self)
        try:
            w.finish(state)
        except BaseException:
            if not w.is_closed:
                _lifecycle.track(self)
            raise
        if self._uploader is not None:
            self._uploader.finish(self._finish_timeout)

    def end_now(self, state: str, from_signal: bool = False) -> None:
        """Ends the run in `state` without waiting (exit and signal handlers)."""
        w = self._writer
        if w is None or w.is_closed:
            return
        _lifecycle.untrack(self)
        w.close(state, from_signal=from_signal)
        if self._uploader is not None:
            self._uploader.detach()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.finish()
        elif issubclass(exc_type, KeyboardInterrupt):
            self._end("aborted")
        else:
            self._end("crashed")
        return False

    def __repr__(self) -> str:
        return f"<swanlog.Run {self.id} {self.dir or '(disabled)'}>"

    def _advance(self, s: int) -> None:
        if s > self._highest:
            self._highest = s
        elif self._warn_rewrite:
            self._warn(s)
        self._next = s + 1

    def _warn(self, s: int) -> None:
        if self._warn_rewrite:
            self._warn_rewrite = False
            warnings.warn(
                f"run {self.id}: step {s} is at or below the run's last step {self._highest}; the new value supersedes the old one. "
                "If you restored an older checkpoint, resume with from_step=<checkpoint step> so every later point is superseded too.",
                SwanlogWarning,
                stacklevel=3,
            )
