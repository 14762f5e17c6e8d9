"""swanlog for Python: log a training job into a swanlog run directory, no Node.js needed.

    import swanlog
    run = swanlog.init(project="mnist", config={"lr": 1e-3})
    for step in range(100):
        swanlog.log({"loss": 1 / (step + 1)})
    run.finish()

`swanlog sync` (the CLI, on any machine that sees the files) uploads the run later.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._checkpoints import latest_checkpoint, save_checkpoint
from ._errors import SwanlogError
from ._init import init
from ._run import Config, Run, SwanlogWarning

__all__ = [
    "Config",
    "Run",
    "SwanlogError",
    "SwanlogWarning",
    "finish",
    "get_run",
    "init",
    "latest_checkpoint",
    "log",
    "save_checkpoint",
]
__version__ = "0.2.0"


def get_run() -> Run | None:
    """The run of the last `init()`, or None."""
    from . import _init

    return _init.current


def log(data: Mapping, step: int | None = None) -> None:
    """`run.log()` on the run of the last `init()`."""
    from . import _init

    run = _init.current
    if run is None:
        raise SwanlogError("INVALID_OPTION", "swanlog.log() before swanlog.init()", "call run = swanlog.init(project=...) first")
    run.log(data, step)


def finish() -> None:
    """`run.finish()` on the run of the last `init()` (nothing when there is none)."""
    from . import _init

    run = _init.current
    if run is not None:
        run.finish()
