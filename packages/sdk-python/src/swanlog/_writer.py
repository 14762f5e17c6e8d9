"""One writer session of a run (docs/format.md "writers/<source>.sqlite"): its own SQLite file,
points buffered in memory and committed as chunks by a flush thread.

The buffer is cheap per point: calls with the same key tuple go into one block (a row-major
float64 array plus the calls' steps, timestamps and sequence numbers), so a call costs a tuple
comparison and an `array.extend`, and a flush encodes the step/timestamp/sequence streams once
per block for all of its keys.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import warnings
from array import array
from time import time_ns as _time_ns

from ._codec import MAX_SAFE_INTEGER, assemble_chunk, decode_chunk, encode_chunk, encode_streams, values_bytes
from ._errors import SwanlogError, storage_error
from ._format import (
    HEARTBEAT_INTERVAL_S,
    RUN_FILE,
    WRITER_SCHEMA,
    WRITERS_DIR,
    connect,
    current_process,
    format_version_of,
    journal_mode_for,
    now_ms,
    open_swanlog_file,
    release_and_close,
    set_journal_mode,
    stamp_format,
    ulid,
)
from ._reader import RunReader
from ._values import is_valid_name

MAX_CHUNK_POINTS = 65_536
MERGE_LIMIT_POINTS = 1024
MAX_BUFFERED_POINTS = 1_000_000


class _Block:
    """Calls of one flush window with one key tuple."""

    __slots__ = ("keys", "ids", "values", "steps", "ts", "seqs")

    def __init__(self, keys: tuple, ids: tuple) -> None:
        self.keys = keys
        self.ids = ids
        self.values = array("d")
        self.steps: list[int] = []
        self.ts: list[int] = []
        self.seqs: list[int] = []


class _Window:
    __slots__ = ("blocks", "new_keys", "calls")

    def __init__(self, blocks: list, new_keys: list, calls: int) -> None:
        self.blocks = blocks
        self.new_keys = new_keys
        self.calls = calls


_NO_BLOCK = _Block((None,), ())


class BadKeys(Exception):
    """A call's keys need the slow path's checks (one is not a valid key)."""


class RunWriter:
    """A writer session. `append` is called from any thread; flushes are serialized."""

    def __init__(
        self,
        directory: str,
        resumed: bool,
        from_step: int | None = None,
        config_patch: dict | None = None,
        flush_interval: float = 1.0,
        min_clock: int = 0,
    ) -> None:
        self.dir = os.path.abspath(directory)
        reader = RunReader(self.dir)
        run_db = db = None
        try:
            self.run_id = reader.id
            mode = journal_mode_for(self.dir)
            run_db = open_swanlog_file(os.path.join(self.dir, RUN_FILE), "run")
            set_journal_mode(run_db, mode)
            self.source = ulid()
            self.segment = ulid()
            clock_start = max(now_ms(), reader.max_ts() + 1, min_clock + 1)
            self.path = os.path.join(self.dir, WRITERS_DIR, f"{self.source}.sqlite")
            version = format_version_of(run_db)
            db = _create_writer_file(self.path, self.run_id, self.source, mode, clock_start, version)
            if from_step is not None:
                db.execute("INSERT INTO rewinds (seq, ts, step) VALUES (0, ?, ?)", (clock_start, from_step))
            dead = reader.dead_open_sessions()
            _register_session(run_db, self.source, self.segment, clock_start, resumed, from_step, config_patch, dead)
            self.last_visible_step_at_open = reader.last_visible_step()
            # Holding other sessions' files open would keep their -wal files alive after they finish.
            reader.close()
            for s in dead:
                _settle_writer_file(reader.writer_path(s.source))
        except BaseException as error:
            if db is not None:
                db.close()
            if run_db is not None:
                run_db.close()
            reader.close()
            wrapped = (
                storage_error(
                    error,
                    self.dir,
                    "open a writer session in",
                    {
                        "STORAGE_READ_ONLY": f"a session writes its own file in {os.path.join(self.dir, WRITERS_DIR)} and records itself in {os.path.join(self.dir, RUN_FILE)}: remount the run directory read-write or make it writable for this user",
                        "STORAGE_FULL": f"free space on the volume of the run directory {self.dir}, then start again; nothing stored was changed",
                    },
                )
                if isinstance(error, Exception)
                else error
            )
            if wrapped is not error:
                raise wrapped from error
            raise
        self._db = db
        self._run_db = run_db
        self._interval = flush_interval
        self._last_ts = clock_start
        self._lock = threading.RLock()
        self._flush_lock = threading.Lock()
        self._key_ids: dict[str, int] = {}
        self._new_keys: list[tuple[int, str]] = []
        self._blocks: dict[tuple, _Block] = {}
        self._last = _NO_BLOCK
        self._pending: list[_Window] = []
        self._stacks: dict[int, list[tuple]] = {}
        self._calls = 0
        self._flushed = 0
        self._bg_error: BaseException | None = None
        self._flush_failed = False
        self._closed: str | None = None  # why append refuses: 'ended' | 'forked'
        self._attention = flush_interval == 0
        self._owner_pid = os.getpid()
        self._stop = threading.Event()
        self._wake = threading.Event()
        db.execute("INSERT OR REPLACE INTO heartbeat (id, ts) VALUES (1, ?)", (now_ms(),))
        self._threads: list[threading.Thread] = []
        self._start_threads()

    # ---- what the run handle reads ----

    @property
    def flushed_through(self) -> int:
        return self._flushed

    @property
    def appended(self) -> int:
        return self._calls

    @property
    def is_closed(self) -> bool:
        return self._closed is not None

    # ---- appending ----

    def append(self, keys: tuple, values, step: int) -> None:
        """Buffers one call (keys already validated unless new; values plain numbers).

        Raises OverflowError/BadKeys (nothing taken) when an int does not fit a float64 or a new
        key is not valid: the caller then checks the call key by key.
        """
        if self._attention:
            self._check_usable()
        with self._lock:
            b = self._last
            if b.keys != keys:
                b = self._blocks.get(keys)
                if b is None:
                    # Values first: a call that fails registers no key.
                    probe = array("d", values)
                    b = self._new_block(keys)
                    values = probe
                self._last = b
            vals = b.values
            start = len(vals)
            try:
                vals.extend(values)
            except BaseException:
                del vals[start:]
                raise
            ts = _time_ns() // 1_000_000
            if ts < self._last_ts:
                ts = self._last_ts
            else:
                self._last_ts = ts
            b.steps.append(step)
            b.ts.append(ts)
            calls = self._calls + 1
            # Appended last: a flush that steals the buffers from a signal handler counts calls by it.
            b.seqs.append(calls)  # sequence numbers: 1, 2, ... (0 is the session's rewind)
            self._calls = calls
        if self._attention:
            self._after_append()
        elif not calls & 1023 and self._buffered_points() >= MAX_BUFFERED_POINTS:
            self._wake.set()

    def _buffered_points(self) -> int:
        return sum(len(b.values) for b in list(self._blocks.values()))

    def _check_usable(self) -> None:
        if self._closed is not None:
            raise self._refusal()

    def _after_append(self) -> None:
        if self._bg_error is not None:
            error, self._bg_error = self._bg_error, None
            self._update_attention()
            raise error
        if self._interval == 0:
            self.flush()

    def _update_attention(self) -> None:
        """One flag for the hot path: something other than buffering needs doing."""
        self._attention = self._closed is not None or self._bg_error is not None or self._interval == 0

    def _new_block(self, keys: tuple) -> _Block:
        ids = []
        fresh = []
        for key in keys:
            kid = self._key_ids.get(key)
            if kid is None:
                if not is_valid_name(key):
                    raise BadKeys(key)
                kid = len(self._key_ids) + len(fresh) + 1
                fresh.append((kid, key))
            ids.append(kid)
        for kid, key in fresh:
            self._key_ids[key] = kid
            self._new_keys.append((kid, key))
        b = _Block(keys, tuple(ids))
        self._blocks[keys] = b
        return b

    def _refusal(self) -> SwanlogError:
        if self._closed == "forked":
            return SwanlogError(
                "CONFLICT",
                f"run {self.run_id} was opened by process {self._owner_pid}; this is a forked child (pid {os.getpid()}), which cannot write through its parent's run",
                f"log from the parent (e.g. return values from DataLoader workers), or open the run in the child with swanlog.init(id={self.run_id!r}, resume='must')",
            )
        return SwanlogError(
            "RUN_FINISHED",
            f"run {self.run_id}: this writer session has ended",
            f"resume the run with swanlog.init(id={self.run_id!r}, resume='must') to log more",
        )

    # ---- flushing ----

    def _take(self) -> None:
        """Moves the current buffers to the pending windows (under the buffer lock, O(1))."""
        with self._lock:
            if not self._blocks:
                return
            window = _Window(list(self._blocks.values()), self._new_keys, self._calls)
            self._blocks = {}
            self._last = _NO_BLOCK
            self._new_keys = []
            self._pending.append(window)

    def flush(self) -> None:
        """Commits every buffered point in one transaction. STORAGE_FULL keeps the buffers for the next flush."""
        if self._closed is not None:
            return
        self._take()
        with self._flush_lock:
            self._write_pending()

    def _write_pending(self) -> None:
        windows = list(self._pending)
        if not windows:
            return
        stacks: dict[int, list[tuple]] = {}
        db = self._db
        try:
            if self._flush_failed:
                _apply_fault_limit(db, retry=True)  # the fault suite "frees space" by unsetting it
            db.execute("BEGIN IMMEDIATE")
            try:
                points = 0
                for w in windows:
                    if w.new_keys:
                        db.executemany("INSERT INTO keys (id, name) VALUES (?, ?)", w.new_keys)
                    points += self._write_window(w, stacks)
                # The file's own count of its points: readers check it against the chunks.
                db.execute(
                    "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) WHERE key = 'points'",
                    (points,),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            self._flush_failed = True
            raise storage_error(
                error,
                self.path,
                "write points to",
                {
                    "STORAGE_FULL": f"free space on the volume of the run directory {self.dir} (or point SWANLOG_LOGDIR to a larger one), then call flush() or finish() again: the points not yet written are kept in memory until then, and every point written before is intact"
                },
            ) from error
        self._flush_failed = False
        del self._pending[: len(windows)]
        self._stacks.update(stacks)
        self._flushed = windows[-1].calls
        if self._bg_error is not None:
            self._bg_error = None
            self._update_attention()

    def _write_window(self, w: _Window, stacks: dict) -> int:
        # A key in several blocks (its call alternates key sets) is written from its merged points;
        # a key in one block (the usual case) shares that block's encoded streams.
        owners: dict[int, list[tuple[_Block, int, int]]] = {}
        sizes: dict[int, int] = {}
        for b in w.blocks:
            n = len(b.seqs)
            k = len(b.keys)
            if n == 0 or k == 0:
                continue
            if k and len(b.values) < n * k:
                n = len(b.values) // k
            sizes[id(b)] = n
            for j, kid in enumerate(b.ids):
                owners.setdefault(kid, []).append((b, j, n))
        points = 0
        shared: dict[int, list[tuple[int, int, int, int, int, int, int, int, bytes]]] = {}
        for kid, parts in owners.items():
            if len(parts) == 1:
                b, j, n = parts[0]
                pieces = shared.get(id(b))
                if pieces is None:
                    pieces = shared[id(b)] = self._block_streams(b, n)
                k = len(b.keys)
                col = b.values[j : n * k : k] if k > 1 else b.values[:n]
                for off, m, flags, streams, smin, smax, tmin, tmax, qmin, qmax in pieces:
                    vb = values_bytes(col[off : off + m] if m != n else col)
                    entry = self._insert(kid, m, smin, smax, tmin, tmax, qmin, qmax, assemble_chunk(m, flags, vb, streams))
                    self._push(kid, entry, stacks)
                points += n
            else:
                rows = []
                for b, j, n in parts:
                    k = len(b.keys)
                    col = b.values[j : n * k : k]
                    rows.extend(zip(b.seqs[:n], b.steps[:n], b.ts[:n], col))
                rows.sort()
                for off in range(0, len(rows), MAX_CHUNK_POINTS):
                    part = rows[off : off + MAX_CHUNK_POINTS]
                    seqs = [r[0] for r in part]
                    steps = [r[1] for r in part]
                    ts = [r[2] for r in part]
                    vals = array("d", [r[3] for r in part])
                    data = encode_chunk(steps, vals, ts, seqs)
                    entry = self._insert(kid, len(part), min(steps), max(steps), ts[0], ts[-1], seqs[0], seqs[-1], data)
                    self._push(kid, entry, stacks)
                points += len(rows)
            if threading.current_thread() is not threading.main_thread():
                # Short slices: the flush thread lets the training thread have the GIL between keys.
                time.sleep(0)
        return points

    def _block_streams(self, b: _Block, n: int) -> list:
        out = []
        for off in range(0, n, MAX_CHUNK_POINTS):
            m = min(MAX_CHUNK_POINTS, n - off)
            steps = b.steps[off : off + m] if (off or m != len(b.steps)) else b.steps
            ts = b.ts[off : off + m]
            seqs = b.seqs[off : off + m]
            flags, streams = encode_streams(steps, ts, seqs)
            out.append((off, m, flags, streams, min(steps), max(steps), ts[0], ts[-1], seqs[0], seqs[-1]))
        return out

    def _insert(self, kid, n, smin, smax, tmin, tmax, qmin, qmax, data) -> tuple:
        cur = self._db.execute(
            "INSERT INTO chunks (key_id, n, step_min, step_max, ts_min, ts_max, seq_min, seq_max, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kid, n, smin, smax, tmin, tmax, qmin, qmax, data),
        )
        return (cur.lastrowid, n, smin, smax)

    def _push(self, kid: int, entry: tuple, stacks: dict) -> None:
        """Merges equal-or-smaller neighbours (a binary counter), so slow logging leaves few rows."""
        stack = stacks.get(kid)
        if stack is None:
            stack = stacks[kid] = list(self._stacks.get(kid, ()))
        stack.append(entry)
        while len(stack) >= 2:
            top = stack[-1]
            prev = stack[-2]
            if prev[1] > top[1] or prev[1] + top[1] > MERGE_LIMIT_POINTS:
                break
            a = decode_chunk(self._db.execute("SELECT data FROM chunks WHERE id = ?", (prev[0],)).fetchone()[0])
            c = decode_chunk(self._db.execute("SELECT data FROM chunks WHERE id = ?", (top[0],)).fetchone()[0])
            steps = a[0] + c[0]
            ts = a[2] + c[2]
            seqs = a[3] + c[3]
            vals = a[1] + c[1]
            self._db.execute("DELETE FROM chunks WHERE id IN (?, ?)", (prev[0], top[0]))
            merged = self._insert(
                kid,
                len(steps),
                min(prev[2], top[2]),
                max(prev[3], top[3]),
                ts[0],
                ts[-1],
                seqs[0],
                seqs[-1],
                encode_chunk(steps, vals, ts, seqs),
            )
            stack[-2:] = [merged]
        while stack and stack[0][1] * 2 > MERGE_LIMIT_POINTS:
            stack.pop(0)

    # ---- threads ----

    def _start_threads(self) -> None:
        self._stop.clear()
        threads = [threading.Thread(target=self._heartbeat_loop, name="swanlog-heartbeat", daemon=True)]
        if self._interval > 0:
            threads.append(threading.Thread(target=self._flush_loop, name="swanlog-flush", daemon=True))
        for t in threads:
            t.start()
        self._threads = threads

    def _stop_threads(self) -> None:
        self._stop.set()
        self._wake.set()
        current = threading.current_thread()
        for t in self._threads:
            if t is not current:
                t.join(timeout=30)
        self._threads = []
        self._wake.clear()

    def _flush_loop(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.flush()
            except Exception as error:  # reported by the next log()/finish(); buffers are kept
                self._bg_error = error
                self._attention = True

    def _heartbeat_loop(self) -> None:
        # Its own connection: a beat never waits behind a flush's Python work.
        try:
            db = connect(self.path)
        except sqlite3.Error as error:
            warnings.warn(f"run {self.run_id}: the heartbeat could not start ({error})", RuntimeWarning, stacklevel=1)
            return
        try:
            while not self._stop.wait(HEARTBEAT_INTERVAL_S):
                try:
                    db.execute("INSERT OR REPLACE INTO heartbeat (id, ts) VALUES (1, ?)", (now_ms(),))
                except sqlite3.Error:
                    # A beat that cannot be written (busy, disk full) only ages the heartbeat.
                    pass
        finally:
            db.close()

    # ---- ending ----

    def finish(self, state: str) -> None:
        """Flushes, records the end and closes. A storage failure leaves the session open, buffers kept."""
        if self._closed is not None:
            return
        self.flush()
        self._stop_threads()
        try:
            self.flush()  # what other threads logged while the threads stopped
            self._record_end(state)
        except BaseException as error:
            self._start_threads()
            wrapped = (
                storage_error(
                    error,
                    os.path.join(self.dir, RUN_FILE),
                    "record the end of",
                    {
                        "STORAGE_FULL": f"every point is written; free space on the volume of the run directory {self.dir}, then call finish() again to record that the run finished"
                    },
                )
                if isinstance(error, Exception)
                else error
            )
            if wrapped is not error:
                raise wrapped from error
            raise
        self._shut_down()

    def close(self, state: str, from_signal: bool = False) -> None:
        """Ends now (exit and signal handlers): flush, record `state` (crashed if the flush failed), close."""
        if self._closed is not None:
            return
        failure: BaseException | None = None
        self._stop.set()
        self._wake.set()
        if not from_signal:
            self._stop_threads()
        try:
            self._take()
            # From a signal handler the flush thread may be mid-flush: wait for it, but never forever.
            got = self._flush_lock.acquire(timeout=10 if from_signal else -1)
            try:
                self._write_pending()
            finally:
                if got:
                    self._flush_lock.release()
        except Exception as error:
            failure = error
        try:
            self._record_end(state if failure is None else "crashed")
        except sqlite3.Error as error:
            failure = failure or storage_error(error, os.path.join(self.dir, RUN_FILE), "record the end of")
        self._shut_down()
        if failure is not None:
            raise failure

    def abandon_after_fork(self) -> None:
        """In a forked child: never write, never close the parent's connections (kept alive on purpose)."""
        self._closed = "forked"
        self._attention = True
        _FORKED_LEFTOVERS.append((self._db, self._run_db))

    def _record_end(self, state: str) -> None:
        self._run_db.execute(
            "UPDATE sessions SET end_state = ?, ended_at = ? WHERE source = ?",
            (state, max(now_ms(), self._last_ts), self.source),
        )

    def _shut_down(self) -> None:
        self._closed = "ended"
        self._attention = True
        release_and_close(self._db)
        release_and_close(self._run_db)


# Connections inherited by a forked child: closing them there could disturb the parent's files.
_FORKED_LEFTOVERS: list = []


def _create_writer_file(
    path: str, run_id: str, source: str, mode: str, clock_start: int, version: int
) -> sqlite3.Connection:
    """A writer file of the run's format version: its chunks are codec 1, which both versions hold."""
    db = connect(path)
    try:
        # Chunks are blobs of up to ~700 KB: large pages cut the per-page work of writing them.
        db.execute("PRAGMA page_size = 16384")
        set_journal_mode(db, mode)
        db.execute("PRAGMA synchronous = NORMAL")
        _apply_fault_limit(db)
        db.execute("BEGIN")
        stamp_format(db, version)
        for statement in WRITER_SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [("format", str(version)), ("run_id", run_id), ("source", source), ("created_at", str(clock_start)), ("points", "0")],
        )
        db.execute("COMMIT")
        return db
    except BaseException:
        db.close()
        raise


def _apply_fault_limit(db: sqlite3.Connection, retry: bool = False) -> None:
    """SWANLOG_FAULT_MAX_PAGES caps a new writer file (the fault suite's "full disk"); after a failed
    flush it is read again, so raising or unsetting it frees space."""
    raw = os.environ.get("SWANLOG_FAULT_MAX_PAGES", "")
    if raw == "":
        if retry:
            db.execute("PRAGMA max_page_count = 4294967294")
        return
    if not raw.isdigit() or int(raw) < 1:
        raise SwanlogError(
            "INVALID_OPTION",
            f"SWANLOG_FAULT_MAX_PAGES={json.dumps(raw)} is not a page count",
            "unset it; it exists only for the fault-injection suite",
        )
    db.execute(f"PRAGMA max_page_count = {int(raw)}")


def _register_session(
    run_db: sqlite3.Connection,
    source: str,
    segment: str,
    clock_start: int,
    resumed: bool,
    from_step: int | None,
    config_patch: dict | None,
    dead: list,
) -> None:
    proc = current_process()
    run_db.execute("BEGIN IMMEDIATE")
    try:
        for s in dead:
            run_db.execute(
                "UPDATE sessions SET end_state = 'crashed', ended_at = ? WHERE source = ? AND end_state IS NULL",
                (clock_start - 1, s.source),
            )
        run_db.execute(
            "INSERT INTO sessions (source, segment, host, pid, pid_start, started_at, clock_start, resumed, from_step) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (source, segment, proc["host"], proc["pid"], proc["pidStart"], now_ms(), clock_start, 1 if resumed else 0, from_step),
        )
        if config_patch:
            run_db.execute(
                "INSERT INTO config_revisions (rev, ts, source, patch) VALUES ((SELECT coalesce(max(rev), 0) + 1 FROM config_revisions), ?, ?, ?)",
                (clock_start, source, json.dumps(config_patch, ensure_ascii=False, allow_nan=False, separators=(",", ":"))),
            )
        run_db.execute("COMMIT")
    except BaseException:
        if run_db.in_transaction:
            run_db.execute("ROLLBACK")
        raise


def _settle_writer_file(path: str) -> None:
    """Folds a dead session's -wal file into its database, so the run reads cleanly on read-only mounts."""
    try:
        db = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error:
        return
    try:
        release_and_close(db)
    except sqlite3.Error:
        pass


def check_step(run_id: str, step: object) -> int:
    if type(step) is int and 0 <= step <= MAX_SAFE_INTEGER:  # type: ignore[operator]
        return step  # type: ignore[return-value]
    value = None
    if not isinstance(step, bool):
        if isinstance(step, float) and step.is_integer():
            value = int(step)
        else:
            try:
                import operator

                value = operator.index(step)  # numpy and torch integers
            except TypeError:
                value = None
    if value is None or not 0 <= value <= MAX_SAFE_INTEGER:
        raise SwanlogError(
            "INVALID_VALUE",
            f"run {run_id}: step {step!r} is not a non-negative integer",
            "omit step to use the run counter, or pass an integer >= 0",
        )
    return value
