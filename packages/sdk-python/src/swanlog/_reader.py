"""What a writer needs to read of a run before it opens its session: meta, config, sessions and
their states, the run's highest clock and its last visible step (docs/format.md)."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass

from ._codec import ChunkDecodeError, decode_chunk
from ._errors import SwanlogError, storage_error
from ._format import RUN_FILE, WRITERS_DIR, is_writer_alive, open_swanlog_file


def deep_merge(base: dict, patch: dict) -> dict:
    """Objects merge key by key, anything else (arrays included) replaces, None removes the key."""
    out = dict(base)
    for key, value in patch.items():
        current = out.get(key)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            out[key] = deep_merge(current if isinstance(current, dict) else {}, value)
        else:
            out[key] = value
    return out


@dataclass
class Session:
    source: str
    host: str
    pid: int
    pid_start: str
    clock_start: int
    ended_at: int | None
    end_state: str | None


class RunReader:
    def __init__(self, directory: str) -> None:
        self.dir = os.path.abspath(directory)
        path = os.path.join(self.dir, RUN_FILE)
        if not os.path.exists(path):
            raise SwanlogError(
                "RUN_DIR_CORRUPT",
                f"{self.dir} is not a swanlog run directory (no {RUN_FILE})",
                "pass a run directory (run-<date>-<id>) or a run id with --logdir",
            )
        self._path = path
        self._db = open_swanlog_file(path, "run")
        self._writers: dict[str, sqlite3.Connection] = {}
        meta = dict(self._q("SELECT key, value FROM meta"))
        if "id" not in meta or "created_at" not in meta:
            self.close()
            raise SwanlogError("RUN_DIR_CORRUPT", f"{path} lacks the run's id or creation time", "run `swanlog verify` on the run directory")
        self.meta = meta
        self.id: str = meta["id"]

    def close(self) -> None:
        for db in self._writers.values():
            db.close()
        self._writers.clear()
        self._db.close()

    def _q(self, sql: str, args: tuple = ()) -> list:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as error:
            raise storage_error(error, self._path, "read") from error

    def sessions(self) -> list[Session]:
        rows = self._q(
            "SELECT source, host, pid, pid_start, clock_start, ended_at, end_state FROM sessions ORDER BY started_at, source"
        )
        return [Session(*r) for r in rows]

    def config(self) -> dict:
        out: dict = {}
        for (patch,) in self._q("SELECT patch FROM config_revisions ORDER BY rev"):
            out = deep_merge(out, json.loads(patch))
        return out

    def writer_path(self, source: str) -> str:
        return os.path.join(self.dir, WRITERS_DIR, f"{source}.sqlite")

    def _writer(self, source: str) -> sqlite3.Connection:
        db = self._writers.get(source)
        if db is None:
            path = self.writer_path(source)
            db = open_swanlog_file(path, "writer")
            owner = db.execute("SELECT value FROM meta WHERE key = 'run_id'").fetchone()
            if owner is None or owner[0] != self.id:
                db.close()
                raise SwanlogError(
                    "RUN_DIR_CORRUPT",
                    f"{path} belongs to run {owner[0] if owner else None}, not to run {self.id}",
                    "a writer file was copied or linked in from another run directory; move it back",
                )
            self._writers[source] = db
        return db

    def _wq(self, source: str, sql: str, args: tuple = ()) -> list:
        db = self._writer(source)
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.Error as error:
            raise storage_error(error, self.writer_path(source), "read") from error

    def heartbeat(self, source: str) -> int | None:
        row = self._wq(source, "SELECT ts FROM heartbeat WHERE id = 1")
        return row[0][0] if row else None

    def last_write_ts(self, source: str) -> int:
        return self._wq(
            source,
            "SELECT max(coalesce((SELECT max(ts_max) FROM chunks), 0), coalesce((SELECT max(ts) FROM rewinds), 0))",
        )[0][0]

    def dead_open_sessions(self) -> list[Session]:
        """Sessions without a recorded end whose writer no longer lives."""
        out = []
        for s in self.sessions():
            if s.end_state is not None:
                continue
            if not is_writer_alive(s.host, s.pid, s.pid_start, self.heartbeat(s.source)):
                out.append(s)
        return out

    def source_max_seqs(self) -> dict[str, int]:
        """Per writer session, the highest sequence number it stored (-1: nothing yet)."""
        return {
            s.source: self._wq(
                s.source,
                "SELECT max(coalesce((SELECT max(seq_max) FROM chunks), -1), coalesce((SELECT max(seq) FROM rewinds), -1))",
            )[0][0]
            for s in self.sessions()
        }

    def max_ts(self) -> int:
        m = int(self.meta.get("seed_max_ts", "0"))
        row = self._q(
            "SELECT max(coalesce((SELECT max(clock_start) FROM sessions), 0), coalesce((SELECT max(ended_at) FROM sessions), 0), coalesce((SELECT max(ts) FROM config_revisions), 0))"
        )
        m = max(m, row[0][0])
        for s in self.sessions():
            m = max(m, self.last_write_ts(s.source))
        return m

    def last_visible_step(self) -> int | None:
        """The largest step of any write no rewind hides (chunks straddling a rewind are decoded)."""
        sources = sorted(s.source for s in self.sessions())
        rewinds: list[tuple[int, int, int, int]] = []  # (ts, rank, seq, step)
        chunks: list[tuple[int, int, int, int, str, int]] = []  # (step_max, ts_min, rank, seq_min, source, id)
        for rank, source in enumerate(sources):
            for seq, ts, step in self._wq(source, "SELECT seq, ts, step FROM rewinds"):
                rewinds.append((ts, rank, seq, step))
            for cid, step_max, ts_min, seq_min in self._wq(source, "SELECT id, step_max, ts_min, seq_min FROM chunks"):
                chunks.append((step_max, ts_min, rank, seq_min, source, cid))
        rewinds.sort()

        def limit_after(ts: int, rank: int, seq: int) -> float:
            lowest = float("inf")
            for r in reversed(rewinds):
                if (r[0], r[1], r[2]) <= (ts, rank, seq):
                    break
                lowest = min(lowest, r[3])
            return lowest

        best: int | None = None
        for step_max, ts_min, rank, seq_min, source, cid in sorted(chunks, key=lambda c: -c[0]):
            if best is not None and step_max <= best:
                break
            if step_max <= limit_after(ts_min, rank, seq_min):
                return step_max if best is None else max(best, step_max)
            (data,) = self._wq(source, "SELECT data FROM chunks WHERE id = ?", (cid,))[0]
            try:
                steps, _, ts, seqs = decode_chunk(data, with_values=False)
            except ChunkDecodeError as error:
                raise SwanlogError(
                    "RUN_DIR_CORRUPT",
                    f"chunk {cid} of {self.writer_path(source)} is damaged: {error}",
                    "run `swanlog verify` on the run directory",
                ) from error
            for s, t, q in zip(steps, ts, seqs):
                if (best is None or s > best) and s <= limit_after(t, rank, q):
                    best = s
        return best
