"""How open runs end with the process (the TS SDK's rules, packages/sdk/src/signals.ts).

- Interpreter exit: exit status 0 -> finished; an uncaught exception -> crashed; an uncaught
  KeyboardInterrupt -> aborted; `sys.exit(n)` with n != 0 -> crashed.
- SIGTERM without a handler of the user's: the runs end aborted and the signal is raised again
  with the default action, so the process ends as it would have without swanlog. With a handler
  of the user's (installed before init()), the runs are flushed and that handler runs.
- SIGINT keeps Python's behaviour (KeyboardInterrupt, which then ends the runs aborted); a user's
  own SIGINT handler runs after a flush.
- A forked child (DataLoader workers) inherits no open run: log() there raises, and the child's
  exit never ends the parent's run.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import weakref

_open: dict[int, object] = {}
_installed = False
_outcome: dict[str, object] = {"state": None}
_previous_excepthook = None
_previous_exit = None
_all_runs: weakref.WeakSet = weakref.WeakSet()


def track(run) -> None:
    global _installed
    _open[id(run)] = run
    _all_runs.add(run)
    if _installed:
        return
    _installed = True
    atexit.register(_on_exit)
    _hook_exceptions()
    _install_signals()


def untrack(run) -> None:
    _open.pop(id(run), None)


def _hook_exceptions() -> None:
    global _previous_excepthook, _previous_exit
    if _previous_excepthook is None:
        _previous_excepthook = sys.excepthook

        def excepthook(exc_type, exc, tb):
            _outcome["state"] = "aborted" if issubclass(exc_type, KeyboardInterrupt) else "crashed"
            _previous_excepthook(exc_type, exc, tb)

        sys.excepthook = excepthook
    if _previous_exit is None:
        _previous_exit = sys.exit

        def exit(status=None):  # noqa: A001 - sys.exit as it is, remembering the status
            if status not in (None, 0):
                _outcome["state"] = "crashed"
            _previous_exit(status)

        sys.exit = exit


def _on_exit() -> None:
    state = _outcome["state"] or "finished"
    for run in list(_open.values()):
        _end_quietly(run, state)


def _install_signals() -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread; exit still ends the runs
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            previous = signal.getsignal(signum)
        except (ValueError, OSError):
            continue
        if signum == signal.SIGINT and previous is signal.default_int_handler:
            continue  # KeyboardInterrupt already ends the runs through the exit path
        if previous in (signal.SIG_IGN, None):
            continue
        if signum == signal.SIGTERM and previous is not signal.SIG_DFL and not callable(previous):
            continue
        signal.signal(signum, _make_handler(signum, previous))


def _make_handler(signum: int, previous):
    def handler(sig, frame):
        if callable(previous) and previous is not signal.SIG_DFL:
            # The user's handler decides what happens; the flush thread writes what is buffered now.
            for run in list(_open.values()):
                w = getattr(run, "_writer", None)
                if w is not None:
                    w._wake.set()
            return previous(sig, frame)
        for run in list(_open.values()):
            _end_quietly(run, "aborted", from_signal=True)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    return handler


def _end_quietly(run, state: str, from_signal: bool = False) -> None:
    try:
        run.end_now(state, from_signal=from_signal)
    except Exception as error:  # the process is ending: say so, never raise from an exit handler
        sys.stderr.write(f"swanlog: run {run.id}: could not end the run: {error}\n")


def _after_fork_in_child() -> None:
    # The child's copies of the parent's runs never write and never end the parent's session.
    for run in list(_all_runs):
        w = getattr(run, "_writer", None)
        if w is not None and not w.is_closed:
            w.abandon_after_fork()
    _open.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
