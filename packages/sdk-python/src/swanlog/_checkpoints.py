"""Atomic checkpoint files and discovery of the newest sound one, torch not required.

`save_checkpoint(path, write_fn)` writes through a temp file beside `path` (fsync, rename, fsync
of the directory) and then a sidecar `<name>.sha256` the same way. `latest_checkpoint(dir,
pattern)` orders files by the number in their name and returns the newest that verifies.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import warnings
import zipfile
from collections.abc import Callable
from typing import BinaryIO

from ._errors import SwanlogError

SIDECAR_SUFFIX = ".sha256"


def save_checkpoint(path: str | os.PathLike, write_fn: Callable[[BinaryIO], object]) -> str:
    """Calls `write_fn(f)` with a binary file open on a temp file beside `path`, then makes it
    `path` atomically, with a sidecar holding its size and sha256. Returns the path.

        swanlog.save_checkpoint(f"ckpt/epoch_{epoch:03d}.pt", lambda f: torch.save(state, f))
    """
    path = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    tmp = _temp_beside(path)
    try:
        with open(tmp, "wb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        size, digest = _digest(tmp)
        # An old sidecar must never vouch for the new file (a crash between the two renames).
        _remove(path + SIDECAR_SUFFIX)
        os.replace(tmp, path)
        _fsync_dir(directory)
    except BaseException:
        _remove(tmp)
        raise
    sidecar = json.dumps({"format": 1, "size": size, "sha256": digest}) + "\n"
    side_tmp = _temp_beside(path + SIDECAR_SUFFIX)
    try:
        with open(side_tmp, "w", encoding="utf-8") as f:
            f.write(sidecar)
            f.flush()
            os.fsync(f.fileno())
        os.replace(side_tmp, path + SIDECAR_SUFFIX)
        _fsync_dir(directory)
    except BaseException:
        _remove(side_tmp)
        raise
    return path


def latest_checkpoint(directory: str | os.PathLike, pattern: str = "epoch_{:03d}.pt") -> str | None:
    """The newest checkpoint in `directory` whose name fits `pattern` (one `{}` field for the
    number) and that verifies: against its sidecar when it has one, a zip file (torch's format)
    without one by zipfile's CRC check. A file that fails is skipped with a warning naming it."""
    directory = os.fspath(directory)
    regex = _pattern_regex(pattern)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return None
    candidates = []
    for name in names:
        m = regex.fullmatch(name)
        if m is not None:
            candidates.append((int(m.group(1)), name))
    for _, name in sorted(candidates, reverse=True):
        path = os.path.join(directory, name)
        problem = verify_checkpoint(path)
        if problem is None:
            return path
        from ._run import SwanlogWarning

        warnings.warn(f"swanlog: skipping checkpoint {path}: {problem}", SwanlogWarning, stacklevel=2)
    return None


def verify_checkpoint(path: str) -> str | None:
    """None when the file is sound, else what is wrong with it."""
    sidecar = path + SIDECAR_SUFFIX
    try:
        with open(sidecar, encoding="utf-8") as f:
            expected = json.loads(f.read())
    except FileNotFoundError:
        expected = None
    except ValueError:
        return f"its sidecar {sidecar} is damaged"
    if expected is not None:
        try:
            size, digest = _digest(path)
        except OSError as error:
            return f"cannot read it ({error})"
        if size != expected.get("size"):
            return f"it is {size} bytes, its sidecar says {expected.get('size')}"
        if digest != expected.get("sha256"):
            return "its sha256 does not match its sidecar"
        return None
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            return f"it is a damaged zip file ({error})"
        return None if bad is None else f"its member {bad} fails its CRC check"
    return None


def _pattern_regex(pattern: str) -> re.Pattern:
    fields = list(re.finditer(r"\{[^{}]*\}", pattern))
    if len(fields) != 1:
        raise SwanlogError(
            "INVALID_OPTION",
            f"checkpoint pattern {pattern!r} needs exactly one {{}} field for the number",
            'e.g. "epoch_{:03d}.pt" or "step_{}.ckpt"',
        )
    f = fields[0]
    return re.compile(re.escape(pattern[: f.start()]) + r"(\d+)" + re.escape(pattern[f.end() :]))


def _digest(path: str) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            size += len(block)
            h.update(block)
    return size, h.hexdigest()


def _temp_beside(path: str) -> str:
    d, name = os.path.split(path)
    return os.path.join(d, f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
