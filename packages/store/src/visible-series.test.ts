import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RunReader } from './run-reader.js';
import { RunWriter } from './run-writer.js';
import {
  bytesOf,
  copyFixtures,
  fixtureDir,
  makeRun,
  prng,
  tempDir,
  type Write,
  waitPast,
  writeSession,
} from './test-support/run-fixtures.js';
import { type RawPoints, type Rewind, RewindIndex, resolveVisible } from './visible-series.js';

const tmp = tempDir();
after(() => tmp.remove());
let runCounter = 0;
const newRun = () => makeRun(tmp.path, `vis-${++runCounter}`);

/** What the design says a reader sees, computed from the operations in clock order. */
type Op = ({ kind: 'write' } & Write) | { kind: 'rewind'; step: number };

interface ModelPoint {
  step: number;
  value: number;
  superseded: boolean;
}

/**
 * Reference model of the visible-series rule: each (key, step) shows its latest write, unless a
 * rewind to N < step came after that write. Points are listed per key in (step, write order).
 */
function model(ops: Op[]): Map<string, ModelPoint[]> {
  const writes: { key: string; step: number; value: number; at: number }[] = [];
  const rewinds: { step: number; at: number }[] = [];
  ops.forEach((op, at) => {
    if (op.kind === 'write') writes.push({ key: op.key, step: op.step, value: op.value, at });
    else rewinds.push({ step: op.step, at });
  });
  const out = new Map<string, ModelPoint[]>();
  const sorted = [...writes].sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.step - b.step || a.at - b.at,
  );
  for (const w of sorted) {
    const later = writes.some((o) => o.key === w.key && o.step === w.step && o.at > w.at);
    const rewound = rewinds.some((r) => r.at > w.at && r.step < w.step);
    const list = out.get(w.key) ?? [];
    list.push({ step: w.step, value: w.value, superseded: later || rewound });
    out.set(w.key, list);
  }
  return out;
}

/** Checks every key's series (visible and with superseded points) and lastVisibleStep against the model. */
function assertMatchesModel(dir: string, ops: Op[], label: string): void {
  const expected = model(ops);
  const reader = RunReader.open(dir);
  try {
    assert.deepEqual(reader.keys(), [...expected.keys()].sort(), `${label}: keys`);
    let runLast: number | null = null;
    for (const [key, points] of expected) {
      const visible = points.filter((p) => !p.superseded);
      const s = reader.series(key);
      assert.deepEqual(
        Array.from(s.steps),
        visible.map((p) => p.step),
        `${label}: visible steps of ${key}`,
      );
      assert.ok(
        bytesOf(s.values).equals(bytesOf(Float64Array.from(visible.map((p) => p.value)))),
        `${label}: visible values of ${key}: got ${Array.from(s.values)}, want ${visible.map((p) => p.value)}`,
      );
      const all = reader.series(key, { superseded: true });
      assert.deepEqual(
        Array.from(all.steps).map((step, i) => ({
          step,
          value: all.values[i],
          superseded: all.superseded?.[i] === 1,
        })),
        points,
        `${label}: all points of ${key}`,
      );
      const keyLast = visible.length === 0 ? null : visible[visible.length - 1]!.step;
      assert.equal(reader.lastVisibleStep(key), keyLast, `${label}: lastVisibleStep(${key})`);
      if (keyLast !== null && (runLast === null || keyLast > runLast)) runLast = keyLast;
    }
    assert.equal(reader.lastVisibleStep(), runLast, `${label}: lastVisibleStep()`);
  } finally {
    reader.close();
  }
}

const w = (key: string, step: number, value: number): Op => ({ kind: 'write', key, step, value });
const writesOf = (ops: Op[]) => ops.filter((o): o is { kind: 'write' } & Write => o.kind === 'write');

describe('visible series through real writer sessions', () => {
  test('the latest write of each (key, step) wins; earlier ones stay, marked superseded', async () => {
    const dir = newRun();
    const s1 = [w('loss', 0, 1), w('loss', 1, 2), w('loss', 1, 3), w('acc', 1, 0.5), w('loss', 2, 4)];
    const s2 = [w('loss', 1, 30), w('loss', 0, 10), w('acc', 5, 0.9)];
    await writeSession(dir, writesOf(s1), { resumed: false });
    await writeSession(dir, writesOf(s2));
    assertMatchesModel(dir, [...s1, ...s2], 'two sessions');
    const reader = RunReader.open(dir);
    try {
      assert.deepEqual(Array.from(reader.series('loss').values), [10, 30, 4]);
    } finally {
      reader.close();
    }
  });

  test('a rewind to N supersedes earlier writes with step > N, not later ones', async () => {
    const dir = newRun();
    const first = Array.from({ length: 10 }, (_, s) => w('loss', s, 100 + s));
    await writeSession(dir, writesOf(first), { resumed: false });
    const second = [w('loss', 6, 206), w('loss', 7, 207)];
    await writeSession(dir, writesOf(second), { fromStep: 5 });
    const ops: Op[] = [...first, { kind: 'rewind', step: 5 }, ...second];
    assertMatchesModel(dir, ops, 'rewind then rewrite');
    const reader = RunReader.open(dir);
    try {
      assert.deepEqual(Array.from(reader.series('loss').steps), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.deepEqual(Array.from(reader.series('loss').values).slice(5), [105, 206, 207]);
      assert.equal(reader.lastVisibleStep(), 7);
    } finally {
      reader.close();
    }
  });

  test('a rewind that hides the top steps lowers lastVisibleStep to match the series', async () => {
    const dir = newRun();
    const first = [
      ...Array.from({ length: 21 }, (_, s) => w('loss', s, s)),
      ...Array.from({ length: 6 }, (_, i) => w('late', 15 + i, i)),
    ];
    await writeSession(dir, writesOf(first), { resumed: false });
    await writeSession(dir, [], { fromStep: 10 });
    assertMatchesModel(dir, [...first, { kind: 'rewind', step: 10 }], 'rewind without new writes');
    const reader = RunReader.open(dir);
    try {
      assert.equal(reader.lastVisibleStep(), 10);
      assert.equal(reader.lastVisibleStep('late'), null);
      assert.equal(reader.series('late').steps.length, 0);
      assert.equal(reader.series('late', { superseded: true }).steps.length, 6);
    } finally {
      reader.close();
    }
  });

  test('rewinding twice: the second rewind does not resurrect what the first hid', async () => {
    const dir = newRun();
    const a = Array.from({ length: 30 }, (_, s) => w('x', s, s));
    const b = Array.from({ length: 10 }, (_, i) => w('x', 11 + i, 1000 + i)); // steps 11..20
    const c = [w('x', 16, 2016)];
    await writeSession(dir, writesOf(a), { resumed: false });
    await writeSession(dir, writesOf(b), { fromStep: 10 });
    await writeSession(dir, writesOf(c), { fromStep: 15 });
    const ops: Op[] = [...a, { kind: 'rewind', step: 10 }, ...b, { kind: 'rewind', step: 15 }, ...c];
    assertMatchesModel(dir, ops, 'two rewinds');
    const reader = RunReader.open(dir);
    try {
      assert.equal(reader.lastVisibleStep(), 16);
    } finally {
      reader.close();
    }
  });

  test('two live writers interleaved by clock: each (key, step) shows the write that came last', async () => {
    const dir = newRun();
    const a = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    const ops: Op[] = [];
    let b: RunWriter | undefined;
    try {
      b = RunWriter.open({ dir, resumed: true, flushIntervalMs: 60_000 });
      const reader = RunReader.open(dir);
      let latest = Math.max(...reader.sessionRows().map((r) => r.clock_start));
      reader.close();
      let lastWriter: RunWriter | undefined;
      const write = (writer: RunWriter, key: string, step: number, value: number) => {
        // Switching writers: make the next write's clock strictly later than every earlier one.
        if (writer !== lastWriter) waitPast(latest);
        writer.append({ [key]: value }, step);
        latest = Math.max(latest, Date.now());
        lastWriter = writer;
        ops.push(w(key, step, value));
      };
      const rand = prng(42);
      for (let i = 0; i < 120; i++) {
        const writer = rand() < 0.5 ? a : b;
        const key = rand() < 0.5 ? 'shared' : writer === a ? 'a/only' : 'b/only';
        write(writer, key, Math.floor(rand() * 15), i);
        if (rand() < 0.2) writer.flush();
      }
      a.flush();
      b.flush();
      assertMatchesModel(dir, ops, 'interleaved writers (live)');
    } finally {
      await b?.finish('finished');
      await a.finish('finished');
    }
    assertMatchesModel(dir, ops, 'interleaved writers (finished)');
  });

  test('a rewind by one writer hides earlier points of a concurrent writer, not its later ones', async () => {
    const dir = newRun();
    const a = RunWriter.open({ dir, resumed: false, flushIntervalMs: 60_000 });
    const ops: Op[] = [];
    let b: RunWriter | undefined;
    try {
      for (let s = 0; s < 10; s++) {
        a.append({ loss: s }, s);
        ops.push(w('loss', s, s));
      }
      a.flush();
      b = RunWriter.open({ dir, resumed: true, fromStep: 5, flushIntervalMs: 60_000 });
      ops.push({ kind: 'rewind', step: 5 });
      const reader = RunReader.open(dir);
      const rewindTs = Math.max(...reader.rewinds().map((r) => r.ts));
      reader.close();
      waitPast(rewindTs);
      a.append({ loss: 80 }, 8); // after the rewind: visible
      a.append({ loss: 120 }, 12);
      ops.push(w('loss', 8, 80), w('loss', 12, 120));
      waitPast(Date.now());
      b.append({ loss: 60 }, 6);
      ops.push(w('loss', 6, 60));
      a.flush();
      b.flush();
      assertMatchesModel(dir, ops, 'rewind with a concurrent writer');
      const check = RunReader.open(dir);
      try {
        assert.deepEqual(Array.from(check.series('loss').steps), [0, 1, 2, 3, 4, 5, 6, 8, 12]);
        assert.deepEqual(Array.from(check.series('loss').values), [0, 1, 2, 3, 4, 5, 60, 80, 120]);
        assert.equal(check.lastVisibleStep(), 12);
      } finally {
        check.close();
      }
    } finally {
      await b?.finish('finished');
      await a.finish('finished');
    }
  });

  test('random sequential sessions with rewinds agree with the model', async () => {
    const rand = prng(1234);
    for (let trial = 0; trial < 3; trial++) {
      const dir = newRun();
      const ops: Op[] = [];
      for (let session = 0; session < 5; session++) {
        const fromStep = session > 0 && rand() < 0.5 ? Math.floor(rand() * 25) : undefined;
        if (fromStep !== undefined) ops.push({ kind: 'rewind', step: fromStep });
        const writes: Write[] = [];
        const count = Math.floor(rand() * 40);
        for (let i = 0; i < count; i++) {
          const key = ['k1', 'k2', 'k3'][Math.floor(rand() * 3)]!;
          const value = rand() < 0.1 ? Number.NaN : Math.round(rand() * 1e6) / 1e3;
          writes.push({ key, step: Math.floor(rand() * 30), value });
        }
        ops.push(...writes.map((x) => ({ kind: 'write' as const, ...x })));
        await writeSession(dir, writes, {
          resumed: session > 0,
          flushIntervalMs: rand() < 0.5 ? 0 : 60_000,
          ...(fromStep === undefined ? {} : { fromStep }),
        });
      }
      assertMatchesModel(dir, ops, `trial ${trial}`);
    }
  });
});

describe('visible series of the fixtures', () => {
  const fixtures = tempDir();
  let logdir: string;
  before(() => {
    logdir = copyFixtures(fixtures.path);
  });
  after(() => fixtures.remove());

  test('lastVisibleStep (of the run and of each key) agrees with the series on every sound fixture', () => {
    const expected: Record<string, number> = {
      'fx-finished': 52,
      'fx-crashed': 39,
      'fx-resumed': 49,
      'fx-rewound': 30,
      'fx-two-writers': 29,
    };
    for (const [id, last] of Object.entries(expected)) {
      const reader = RunReader.open(fixtureDir(logdir, id));
      try {
        let max: number | null = null;
        for (const key of reader.keys()) {
          const s = reader.series(key);
          const keyLast = s.steps.length === 0 ? null : s.steps[s.steps.length - 1]!;
          assert.equal(reader.lastVisibleStep(key), keyLast, `${id}: ${key}`);
          for (let i = 1; i < s.steps.length; i++)
            assert.ok(s.steps[i]! > s.steps[i - 1]!, `${id}: ${key} order`);
          if (keyLast !== null && (max === null || keyLast > max)) max = keyLast;
        }
        assert.equal(reader.lastVisibleStep(), max, id);
        assert.equal(max, last, id);
      } finally {
        reader.close();
      }
    }
  });

  test('fx-two-writers: the key of each writer shows every step 0-29', () => {
    const reader = RunReader.open(fixtureDir(logdir, 'fx-two-writers'));
    try {
      assert.deepEqual(reader.keys(), ['eval/loss', 'train/loss']);
      for (const key of reader.keys()) {
        const s = reader.series(key);
        assert.deepEqual(
          Array.from(s.steps),
          Array.from({ length: 30 }, (_, i) => i),
          key,
        );
        assert.deepEqual(
          Array.from(s.values),
          Array.from({ length: 30 }, (_, i) => i * 1000),
          key,
        );
      }
    } finally {
      reader.close();
    }
  });

  test('fx-rewound: steps 21-39 of the first session are superseded, steps 21-30 come from the resume', () => {
    const reader = RunReader.open(fixtureDir(logdir, 'fx-rewound'));
    try {
      const s = reader.series('loss');
      assert.deepEqual(
        Array.from(s.values),
        Array.from({ length: 31 }, (_, st) => (st <= 20 ? 100 + st : 200 + st - 21)),
      );
      const all = reader.series('loss', { superseded: true });
      const superseded = Array.from(all.steps).filter((_, i) => all.superseded?.[i] === 1);
      assert.deepEqual(
        superseded,
        Array.from({ length: 19 }, (_, i) => 21 + i),
      );
    } finally {
      reader.close();
    }
  });
});

describe('visible-series rule (resolveVisible)', () => {
  interface P {
    step: number;
    ts: number;
    rank: number;
    seq: number;
  }
  const laterThan = (a: P | Rewind, b: P) => a.ts - b.ts || a.rank - b.rank || a.seq - b.seq;

  test('agrees with a brute-force reading of the rule on random clocks', () => {
    const rand = prng(77);
    for (let trial = 0; trial < 200; trial++) {
      const n = Math.floor(rand() * 60);
      const used = new Set<string>();
      const hlc = () => {
        for (;;) {
          const c = {
            ts: Math.floor(rand() * 20),
            rank: Math.floor(rand() * 3),
            seq: Math.floor(rand() * 50),
          };
          const id = `${c.ts}/${c.rank}/${c.seq}`;
          if (!used.has(id)) {
            used.add(id);
            return c;
          }
        }
      };
      const points: P[] = Array.from({ length: n }, () => ({ step: Math.floor(rand() * 12), ...hlc() }));
      const rewinds: Rewind[] = Array.from({ length: Math.floor(rand() * 4) }, () => ({
        step: Math.floor(rand() * 12),
        ...hlc(),
      }));
      const raw: RawPoints = {
        steps: Float64Array.from(points, (p) => p.step),
        values: Float64Array.from(points, (_, i) => i),
        ts: Float64Array.from(points, (p) => p.ts),
        seqs: Float64Array.from(points, (p) => p.seq),
        ranks: Float64Array.from(points, (p) => p.rank),
        length: n,
      };
      const { order, visible } = resolveVisible(raw, new RewindIndex(rewinds));
      const expectedOrder = points
        .map((p, i) => ({ p, i }))
        .sort((x, y) => x.p.step - y.p.step || laterThan(x.p, y.p))
        .map((x) => x.i);
      assert.deepEqual(Array.from(order), expectedOrder, `trial ${trial}: order`);
      const expectedVisible = points.map((p) => {
        const newer = points.some((q) => q !== p && q.step === p.step && laterThan(q, p) > 0);
        const rewound = rewinds.some((r) => laterThan(r, p) > 0 && r.step < p.step);
        return newer || rewound ? 0 : 1;
      });
      assert.deepEqual(Array.from(visible), expectedVisible, `trial ${trial}: visible`);
    }
  });
});
