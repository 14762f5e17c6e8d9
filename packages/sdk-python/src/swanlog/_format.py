"""Files of run directory format v1 (docs/format.md): schemas, format stamp, journal mode, names."""

from __future__ import annotations

import os
import re
import secrets
import socket
import sqlite3
import time

from ._errors import SwanlogError, storage_error

APPLICATION_ID = 0x53574C47
FORMAT_VERSION = 1
# Format versions this SDK reads, and writes into (a run keeps its version). It creates format-1
# runs: format 2 differs only in allowing chunk codec 2, which this SDK reads but never writes
# (pure Python would pay too much for it per point).
READABLE_FORMAT_VERSIONS = (1, 2)
RUN_FILE = "run.sqlite"
WRITERS_DIR = "writers"
HEARTBEAT_INTERVAL_S = 15.0
HEARTBEAT_TIMEOUT_MS = 120_000

RUN_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE sessions (
  source TEXT PRIMARY KEY,
  segment TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  pid_start TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  clock_start INTEGER NOT NULL,
  resumed INTEGER NOT NULL,
  from_step INTEGER,
  ended_at INTEGER,
  end_state TEXT
) WITHOUT ROWID;
CREATE TABLE config_revisions (
  rev INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  source TEXT,
  patch TEXT NOT NULL
);
"""

WRITER_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY,
  key_id INTEGER NOT NULL,
  n INTEGER NOT NULL,
  step_min INTEGER NOT NULL,
  step_max INTEGER NOT NULL,
  ts_min INTEGER NOT NULL,
  ts_max INTEGER NOT NULL,
  seq_min INTEGER NOT NULL,
  seq_max INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX chunks_by_key ON chunks (key_id, seq_min);
CREATE INDEX chunks_by_step ON chunks (step_max, key_id, step_min, ts_min, seq_min);
CREATE TABLE rewinds (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, step INTEGER NOT NULL);
CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), ts INTEGER NOT NULL);
CREATE TABLE console (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, stream TEXT NOT NULL, line TEXT NOT NULL);
"""

CLUSTER_FS = re.compile(
    r"^(nfs|nfs4|lustre|gpfs|cifs|smb3|smbfs|beegfs|ceph|fuse\.ceph|glusterfs|fuse\.glusterfs|9p|panfs|afs)$"
)
RUN_DIR = re.compile(r"^run-\d{8}_\d{6}-([A-Za-z0-9_-]{1,64})$")
USER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode; transactions are spelled out (BEGIN IMMEDIATE)."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def open_swanlog_file(path: str, kind: str, readonly: bool = False) -> sqlite3.Connection:
    """Opens one swanlog file and checks it is ours and of version 1."""
    if not os.path.isfile(path):
        raise SwanlogError(
            "RUN_DIR_CORRUPT",
            f"cannot open {path}: the file is missing or unreadable",
            "is this a swanlog run directory? `swanlog ls <logdir>` lists the runs",
        )
    try:
        if readonly:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout = 10000")
        else:
            db = connect(path)
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as error:
        if "not a database" in str(error) or "malformed" in str(error):
            raise SwanlogError(
                "RUN_DIR_CORRUPT", f"{path} is not a swanlog {kind} file ({error})", "run `swanlog verify` on the run directory"
            ) from error
        raise storage_error(error, path, "open") from error
    if app_id != APPLICATION_ID:
        db.close()
        raise SwanlogError(
            "RUN_DIR_CORRUPT",
            f"{path} is not a swanlog {kind} file",
            "point the command at a run directory made by swanlog (run-<date>-<id>)",
        )
    if version not in READABLE_FORMAT_VERSIONS:
        db.close()
        raise SwanlogError(
            "UNSUPPORTED_FORMAT",
            f"{path} has run-directory format version {version}; this swanlog reads versions 1 and 2",
            "upgrade swanlog to read this run" if version > max(READABLE_FORMAT_VERSIONS) else "this file is damaged",
        )
    return db


def stamp_format(db: sqlite3.Connection, version: int = FORMAT_VERSION) -> None:
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {int(version)}")


def format_version_of(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def journal_mode_for(directory: str) -> str:
    """'wal' on local disks, 'delete' on cluster file systems or with SWANLOG_NO_WAL=1."""
    if os.environ.get("SWANLOG_NO_WAL") in ("1", "true"):
        return "delete"
    fs = file_system_of(directory)
    return "delete" if fs is not None and CLUSTER_FS.match(fs) else "wal"


def file_system_of(directory: str) -> str | None:
    try:
        with open("/proc/self/mounts", encoding="utf-8") as f:
            mounts = f.read()
        real = os.path.realpath(directory)
    except FileNotFoundError:
        return None
    best: tuple[str, str] | None = None
    for line in mounts.split("\n"):
        parts = line.split(" ")
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        prefix = point if point.endswith("/") else point + "/"
        if (real == point or real.startswith(prefix)) and (best is None or len(point) > len(best[0])):
            best = (point, parts[2])
    return None if best is None else best[1]


def set_journal_mode(db: sqlite3.Connection, mode: str) -> None:
    try:
        db.execute(f"PRAGMA journal_mode = {'WAL' if mode == 'wal' else 'DELETE'}")
    except sqlite3.OperationalError as error:
        # Another connection holds the file in the other mode; it stays usable as it is.
        if not _busy(error):
            raise


def release_and_close(db: sqlite3.Connection) -> None:
    """Leaves the file in rollback-journal mode when this is its last connection (no -wal behind)."""
    try:
        db.execute("PRAGMA busy_timeout = 0")
        db.execute("PRAGMA journal_mode = DELETE")
    except sqlite3.OperationalError as error:
        # On a full disk the file stays in WAL mode, complete; the next writer or reader folds it.
        if not _busy(error) and "full" not in str(error):
            raise
    finally:
        db.close()


def _busy(error: Exception) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def run_dir_name(run_id: str, when: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(when))
    return f"run-{stamp}-{run_id}"


def run_id_of_dir_name(name: str) -> str | None:
    m = RUN_DIR.match(name)
    return m.group(1) if m else None


def list_run_dirs(logdir: str) -> list[str]:
    root = os.path.abspath(logdir)
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    except NotADirectoryError as error:
        raise SwanlogError(
            "NOT_FOUND",
            f"{root} is a file, not a log directory",
            "pass the directory your runs log into (default ./swanlog, or SWANLOG_LOGDIR)",
        ) from error
    out = []
    for name in names:
        if name.startswith("."):
            continue
        path = os.path.join(root, name)
        if os.path.isdir(path) and (RUN_DIR.match(name) or os.path.exists(os.path.join(path, RUN_FILE))):
            out.append(path)
    return out


def find_run_dir(logdir: str, run_id: str) -> str | None:
    matches = [d for d in list_run_dirs(logdir) if run_id_of_dir_name(os.path.basename(d)) == run_id]
    if len(matches) > 1:
        raise SwanlogError(
            "CONFLICT",
            f"run id {run_id} names {len(matches)} directories in {os.path.abspath(logdir)}",
            f"keep one of: {', '.join(matches)} (move the others to another logdir)",
        )
    return matches[0] if matches else None


def generate_run_id() -> str:
    """21 characters of [0-9a-z] from the OS's CSPRNG, every character equally likely."""
    out: list[str] = []
    while len(out) < 21:
        for byte in secrets.token_bytes(32):
            # 252 = 7 * 36: rejecting the top bytes keeps every character equally likely.
            if byte < 252 and len(out) < 21:
                out.append(_ALPHABET[byte % 36])
    return "".join(out)


def assert_run_id(value: object, source: str = "id") -> str:
    if not isinstance(value, str) or not USER_ID.match(value):
        raise SwanlogError(
            "INVALID_RUN_ID",
            f"{source} {_json(value)} is not a valid run id",
            'a run id is 1-64 characters of letters, digits, "_" and "-"',
        )
    return value


def ulid() -> str:
    """A ULID: 48-bit millisecond time and 80 random bits, Crockford base32 (26 characters)."""
    value = (now_ms() << 80) | int.from_bytes(secrets.token_bytes(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _json(value: object) -> str:
    import json

    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


# ---- liveness (docs/format.md "Run state") ----


def host_name() -> str:
    return socket.gethostname()


def process_stat(pid: int) -> tuple[str, str] | None:
    """State (field 3) and start time (field 22) of /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = stat[stat.rfind(")") + 2 :].split(" ")
    return (fields[0] if fields else "", fields[19] if len(fields) > 19 else "")


def current_process() -> dict:
    stat = process_stat(os.getpid())
    return {"host": host_name(), "pid": os.getpid(), "pidStart": stat[1] if stat else ""}


def is_writer_alive(host: str, pid: int, pid_start: str, heartbeat_ts: int | None, now: int | None = None) -> bool:
    if host == host_name():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        stat = process_stat(pid)
        if stat is None:
            return pid_start == ""
        if stat[0] in ("Z", "X", "x"):
            return False
        return pid_start == "" or stat[1] == pid_start
    now = now_ms() if now is None else now
    return heartbeat_ts is not None and now - heartbeat_ts < HEARTBEAT_TIMEOUT_MS
