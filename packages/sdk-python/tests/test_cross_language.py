"""Python and TypeScript on one run directory, both ways (the TS CLI and SDK of this checkout)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import urllib.request

import pytest
from conftest import NODE, CLI_JS, cli, export, needs_ts, raw_points, run_node, run_state, spawn_python

import swanlog

pytestmark = needs_ts


def by_key(points):
    out = {}
    for p in points:
        out.setdefault(p["key"], []).append((p["step"], p["value"]))
    return out


def test_python_writes_and_the_ts_cli_reads_it_exactly(logdir):
    run = swanlog.init(project="cross", name="py", config={"lr": 0.1, "nested": {"a": [1, 2]}}, logdir=logdir)
    for i in range(300):
        run.log({"loss": 1 / (i + 1), "acc": i / 300, "flag": i % 2 == 0})
    run.log({"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "val": {"acc": 0.75}})
    run.finish()
    assert "ok: run" in cli("verify", run.dir).stdout
    assert run_state(run.dir) == "finished"
    points = by_key(export(run.dir))
    assert points["loss"] == [(i, 1 / (i + 1)) for i in range(300)]
    assert points["acc"] == [(i, i / 300) for i in range(300)]
    assert points["flag"] == [(i, 1 if i % 2 == 0 else 0) for i in range(300)]
    assert points["nan"] == [(300, "NaN")] and points["inf"] == [(300, "Infinity")] and points["ninf"] == [(300, "-Infinity")]
    assert points["val/acc"] == [(300, 0.75)]
    shown = json.loads(cli("show", run.dir, "--json").stdout)
    assert shown["config"] == {"lr": 0.1, "nested": {"a": [1, 2]}} and shown["name"] == "py"


def test_ts_writes_and_python_resumes_with_a_rewind(logdir):
    result = run_node(
        f"""
const {{ initSync }} = await import(SDK);
const run = initSync({{ logdir: {json.dumps(logdir)}, id: 'from-ts', resume: 'allow', project: 'cross', config: {{ lr: 0.1, opt: {{ name: 'sgd', m: 0.9 }} }} }});
for (let i = 0; i < 100; i++) run.log({{ loss: 100 - i }});
await run.finish();
"""
    )
    assert result.returncode == 0, result.stderr
    run = swanlog.init(id="from-ts", resume="must", from_step=49, config={"opt": {"name": "adam", "m": None}}, logdir=logdir)
    assert run.step == 50 and run.config == {"lr": 0.1, "opt": {"name": "adam"}}
    for i in range(50, 60):
        run.log({"loss": -i})
    run.finish()
    assert "ok: run" in cli("verify", run.dir).stdout
    loss = by_key(export(run.dir))["loss"]
    assert loss == [(i, 100 - i) for i in range(50)] + [(i, -i) for i in range(50, 60)]
    superseded = [p for p in export(run.dir, "--all") if p.get("superseded")]
    assert len(superseded) == 50  # steps 50..99 of the TS session, kept but hidden
    assert json.loads(cli("show", run.dir, "--json").stdout)["config"] == {"lr": 0.1, "opt": {"name": "adam"}}


def test_python_and_ts_writers_in_one_run_at_the_same_time(logdir):
    first = swanlog.init(id="both", resume="allow", logdir=logdir)
    ts_child = subprocess.Popen(
        [
            NODE,
            "--input-type=module",
            "-e",
            f"""
const {{ initSync }} = await import({json.dumps('file://' + os.path.join(os.path.dirname(CLI_JS), '..', '..', '..', 'packages', 'sdk', 'dist', 'index.js'))});
const run = initSync({{ logdir: {json.dumps(logdir)}, id: 'both', resume: 'must', flushInterval: 10 }});
for (let i = 0; i < 3000; i++) {{ run.log({{ ts_loss: i }}, i); if (i % 100 === 0) await new Promise((r) => setTimeout(r, 5)); }}
await run.finish();
""",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    for i in range(3000):
        first.log({"py_loss": -i}, step=i)
        if i % 100 == 0:
            first.flush()
    assert ts_child.wait(timeout=60) == 0, ts_child.stderr.read()
    first.finish()
    assert "ok: run" in cli("verify", first.dir).stdout
    points = by_key(export(first.dir))
    assert points["py_loss"] == [(i, -i) for i in range(3000)]
    assert points["ts_loss"] == [(i, i) for i in range(3000)]
    assert run_state(first.dir) == "finished"
    assert len(os.listdir(os.path.join(first.dir, "writers"))) == 2


@pytest.fixture
def server(tmp_path):
    data = str(tmp_path / "server")
    key = cli("server", "key", "create", "--data", data, "--workspace", "team").stdout.strip().split()[-1]
    proc = subprocess.Popen([NODE, CLI_JS, "server", "--data", data, "--port", "0"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("listening on "), line
    url = line.split()[-1]
    yield url, key
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_python_run_syncs_to_the_server_exactly(logdir, server):
    url, key = server
    run = swanlog.init(project="cross", logdir=logdir, id="to-sync", resume="allow")
    for i in range(500):
        run.log({"loss": 1 / (i + 1), "z": math.nan if i == 7 else i})
    run.finish()
    cli("sync", run.dir, "--host", url, "--api-key", key)

    def get(path):
        req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    exp = get("/api/v1/experiments/to-sync")
    assert exp["state"] == "finished" and exp["lastStep"] == 499 and exp["keys"] == ["loss", "z"]
    local = by_key(export(run.dir))
    for k in ("loss", "z"):
        served = get(f"/api/v1/experiments/to-sync/metrics/{k}?maxPoints=100000")["points"]
        assert [(p["step"], p["value"]) for p in served] == local[k]


def test_sigkilled_python_writer_reads_crashed_in_the_ts_cli(logdir):
    child = spawn_python(
        f"""
import time, swanlog
run = swanlog.init(logdir={logdir!r}, flush_interval=0)
run.log({{"a": 1}})
print("ready", flush=True)
time.sleep(60)
""",
        stdout=subprocess.PIPE,
    )
    assert child.stdout.readline().strip() == "ready"
    child.kill()
    child.wait()
    (name,) = [n for n in os.listdir(logdir) if n.startswith("run-")]
    run_dir = os.path.join(logdir, name)
    assert run_state(run_dir) == "crashed"
    assert [p[0] for p in raw_points(run_dir, "a")] == [0]


def _file_format(path: str) -> int:
    import sqlite3

    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def _chunk_codecs(writer_path: str) -> set[tuple[int, int]]:
    """(codec version, value encoding) of every chunk of a writer file."""
    import sqlite3

    db = sqlite3.connect(f"file:{writer_path}?mode=ro", uri=True)
    try:
        return {(data[0], data[2]) for (data,) in db.execute("SELECT data FROM chunks")}
    finally:
        db.close()


def _f32(x: float) -> float:
    import struct

    return struct.unpack("<f", struct.pack("<f", x))[0]


def test_a_ts_run_of_codec_2_chunks_resumed_by_python_mixes_both_codecs_and_both_read_every_bit(logdir):
    # TS writes format 2: float32 curves, float64 values and integers each take their codec-2
    # encoding. Python resumes it and writes codec-1 chunks into the same run.
    result = run_node(
        f"""
const {{ initSync }} = await import(SDK);
const run = initSync({{ logdir: {json.dumps(logdir)}, id: 'mixed-codecs', resume: 'allow', project: 'cross' }});
for (let i = 0; i < 2000; i++) {{
  run.log({{ f32: Math.fround(((i * 7) % 1000) / 1024 + 0.3), f64: i / 3, int: i * 4096, neg0: i % 2 ? -0 : 1.5 }});
}}
await run.finish();
"""
    )
    assert result.returncode == 0, result.stderr
    run = swanlog.init(id="mixed-codecs", resume="must", logdir=logdir)
    for i in range(2000, 2100):
        run.log({"f32": _f32(((i * 7) % 1000) / 1024 + 0.3), "f64": i / 3, "int": i * 4096, "neg0": -0.0 if i % 2 else 1.5})
    run.finish()

    assert _file_format(os.path.join(run.dir, "run.sqlite")) == 2
    writers = sorted(os.listdir(os.path.join(run.dir, "writers")))
    writers = [os.path.join(run.dir, "writers", w) for w in writers if w.endswith(".sqlite")]
    assert len(writers) == 2 and all(_file_format(w) == 2 for w in writers)
    codecs = [_chunk_codecs(w) for w in writers]
    ts_codecs = next(c for c in codecs if any(v == 2 for v, _ in c))
    py_codecs = next(c for c in codecs if c is not ts_codecs)
    assert {e for _, e in ts_codecs} >= {1, 2, 4}, ts_codecs  # XOR64, XOR32, run-length integers
    assert py_codecs == {(1, 0)}, py_codecs

    expected = {
        "f32": [_f32(((i * 7) % 1000) / 1024 + 0.3) for i in range(2100)],
        "f64": [i / 3 for i in range(2100)],
        "int": [float(i * 4096) for i in range(2100)],
        "neg0": [-0.0 if i % 2 else 1.5 for i in range(2100)],
    }
    import struct

    for key, values in expected.items():
        # Python decodes both codecs, bit for bit (-0 stays -0).
        got = sorted(raw_points(run.dir, key))
        assert [p[0] for p in got] == list(range(2100)), key
        assert [struct.pack("<d", p[1]) for p in got] == [struct.pack("<d", v) for v in values], key
    # And the TS CLI reads the whole mixed run.
    assert "ok: run" in cli("verify", run.dir).stdout
    points = by_key(export(run.dir))
    assert points["f32"] == list(enumerate(expected["f32"]))
    assert points["int"] == [(i, i * 4096) for i in range(2100)]


def test_a_python_run_stays_format_1_when_ts_resumes_it(logdir):
    run = swanlog.init(id="py-first", resume="allow", project="cross", logdir=logdir)
    for i in range(100):
        run.log({"loss": _f32(1 / (i + 1))})
    run.finish()
    result = run_node(
        f"""
const {{ initSync }} = await import(SDK);
const run = initSync({{ logdir: {json.dumps(logdir)}, id: 'py-first', resume: 'must' }});
for (let i = 100; i < 200; i++) run.log({{ loss: Math.fround(1 / (i + 1)) }});
await run.finish();
"""
    )
    assert result.returncode == 0, result.stderr
    assert _file_format(os.path.join(run.dir, "run.sqlite")) == 1
    for w in os.listdir(os.path.join(run.dir, "writers")):
        if w.endswith(".sqlite"):
            path = os.path.join(run.dir, "writers", w)
            assert _file_format(path) == 1 and _chunk_codecs(path) == {(1, 0)}, w
    got = sorted(raw_points(run.dir, "loss"))
    assert [p[1] for p in got] == [_f32(1 / (i + 1)) for i in range(200)]


def test_python_decodes_every_codec_2_value_encoding_the_ts_codec_writes_bit_for_bit():
    # Chunks straight from @swanlog/store's encodeChunk, one per value family, so every value
    # encoding (raw, xor64, xor32, int, intrle) and the bit patterns that matter (NaN payloads,
    # -0, subnormals, infinities) go through the Python decoder.
    result = run_node(
        """
const store = await import(SDK.replace('/sdk/dist/', '/store/dist/'));
const fromBits = (hex) => new Float64Array(new BigUint64Array(hex.map((h) => BigInt(h))).buffer);
let s = 12345;
const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
const families = {
  raw: new Float64Array(Uint32Array.from({ length: 1000 }, () => Math.floor(rand() * 2 ** 32)).buffer),
  xor64: Float64Array.from({ length: 500 }, (_, i) => 1e-3 * Math.cos(i / 70)),
  xor32: Float64Array.from({ length: 500 }, (_, i) => Math.fround(Math.exp(-i / 90) * (1 + (rand() - 0.5) / 10))),
  xor32_specials: Float64Array.from([0, -0, Infinity, -Infinity, NaN, Math.fround(1e-40), Math.fround(3.4e38), 1.5, 1.5, -2]),
  xor64_specials: fromBits(['0x7ff8000000000001', '0xfff8dead0000beef', '0x8000000000000000', '0x0000000000000001', '0x800fffffffffffff', '0x3ff0000000000000', '0x3ff0000000000000']),
  int: Float64Array.from({ length: 500 }, () => Math.floor((rand() - 0.5) * 2 ** 49)),
  intrle: Float64Array.from({ length: 500 }, (_, i) => i * 4096),
};
const out = {};
for (const [name, values] of Object.entries(families)) {
  const n = values.length;
  const seqs = Float64Array.from({ length: n }, (_, i) => i + 1);
  const chunk = store.encodeChunk({ steps: seqs.map((x) => x * 3), values, ts: seqs.map((x) => 1.7e12 + Math.floor(x / 4)), seqs }, n, 2);
  out[name] = { chunk: Buffer.from(chunk).toString('hex'), bits: Buffer.from(values.buffer).toString('hex'), encoding: chunk[2] };
}
console.log(JSON.stringify(out));
"""
    )
    assert result.returncode == 0, result.stderr
    from swanlog._codec import decode_chunk

    cases = json.loads(result.stdout)
    assert {c["encoding"] for c in cases.values()} == {0, 1, 2, 3, 4}, {k: c["encoding"] for k, c in cases.items()}
    for name, case in cases.items():
        steps, values, ts, seqs = decode_chunk(bytes.fromhex(case["chunk"]))
        n = len(values)
        assert values.tobytes().hex() == case["bits"], name
        assert seqs == list(range(1, n + 1)) and steps == [3 * q for q in seqs], name
        assert ts == [int(1.7e12) + q // 4 for q in seqs], name
        # Reading steps only skips the values and gives the same steps.
        assert decode_chunk(bytes.fromhex(case["chunk"]), with_values=False)[0] == steps, name
