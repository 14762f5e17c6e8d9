// The TS runner of the shared SDK cases (packages/sdk-cases/cases.json): every SDK must pass every
// case, so the TS and Python SDKs agree on resume, environment, steps, config, flattening and
// invalid input. The outcomes are read from the run directories as `swanlog show --json` and
// `swanlog export` print them; a few cases are read through the CLI itself to keep the two alike.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeValue } from '@swanlog/protocol';
import { listRunDirs, RunReader } from '@swanlog/store';
import { type InitOptions, initSync, isSwanlogError, type Run } from './index.js';
import { tempDir } from './test-support/temp-dir.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const table = JSON.parse(readFileSync(join(repoRoot, 'packages/sdk-cases/cases.json'), 'utf8')) as CaseTable;
const cliBin = join(repoRoot, 'apps/cli/bin/swanlog.js');

interface CaseTable {
  schema: number;
  cases: SdkCase[];
}

interface SdkCase {
  group: string;
  name: string;
  ops: Op[];
  expect?: { run_dirs?: number; runs?: Record<string, RunOutcome> };
}

type Op =
  | {
      op: 'init';
      run?: string;
      options: Record<string, unknown>;
      env?: Record<string, string>;
      expect?: OpExpect;
    }
  | { op: 'log'; run?: string; data: unknown; step?: number; expect?: OpExpect }
  | { op: 'flush' | 'finish'; run?: string; expect?: OpExpect };

interface OpExpect {
  error?: string;
  message_includes?: string[];
  id?: string;
  id_generated?: boolean;
  resumed?: boolean;
  step?: number;
  config?: Record<string, unknown>;
  warnings?: string[];
}

interface RunOutcome {
  points?: Record<string, [number, number | string][]>;
  config?: Record<string, unknown>;
  config_revisions?: number;
  segments?: number;
  segment_from_steps?: (number | null)[];
  state?: string;
}

const OPTION_NAMES: Record<string, keyof InitOptions> = {
  project: 'project',
  workspace: 'workspace',
  name: 'name',
  config: 'config',
  mode: 'mode',
  id: 'id',
  resume: 'resume',
  from_step: 'fromStep',
  on_invalid: 'onInvalid',
};

let root: ReturnType<typeof tempDir>;
let n = 0;

before(() => {
  root = tempDir('swanlog-cases-');
});
after(() => root.remove());

describe('shared SDK cases (packages/sdk-cases/cases.json)', () => {
  it('the table has the schema this runner reads', () => {
    assert.equal(table.schema, 1);
    assert.ok(table.cases.length > 0);
  });

  const firstOfGroup = new Set<string>();
  for (const c of table.cases) {
    const viaCli = !firstOfGroup.has(c.group);
    firstOfGroup.add(c.group);
    it(`${c.group}: ${c.name}`, async () => {
      const logdir = join(root.path, `case-${n++}`);
      const handles = await runOps(c, logdir);
      checkOutcome(c, logdir, handles, viaCli);
    });
  }
});

async function runOps(c: SdkCase, logdir: string): Promise<Map<string, Run>> {
  const handles = new Map<string, Run>();
  let current: string | undefined;
  for (const [i, op] of c.ops.entries()) {
    const where = `op ${i} (${op.op})`;
    const label = op.run ?? (op.op === 'init' ? 'a' : current);
    const warned: string[] = [];
    const onWarning = (warning: Error & { key?: unknown }) => {
      if ((warning as { code?: unknown }).code === 'SWANLOG_INVALID_SKIPPED')
        warned.push(String(warning.key));
    };
    process.on('warning', onWarning);
    let error: unknown;
    try {
      if (op.op === 'init') {
        const run = initSync(initOptions(op.options, logdir), op.env ?? {});
        handles.set(label!, run);
        current = label;
        checkInit(run, op.expect, where);
      } else {
        const run = handles.get(label ?? '');
        assert.ok(run !== undefined, `${where}: no run handle ${label}`);
        if (op.op === 'log') run.log(decodeData(op.data) as Record<string, number>, op.step);
        else if (op.op === 'flush') run.flush();
        else await run.finish();
      }
    } catch (caught) {
      error = caught;
    }
    // process.emitWarning delivers on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    const expect = op.expect ?? {};
    if (expect.error === undefined) {
      if (error !== undefined) throw error;
    } else {
      assert.ok(isSwanlogError(error), `${where}: expected ${expect.error}, got ${String(error)}`);
      assert.equal(error.code, expect.error, `${where}: ${error.message}`);
      for (const part of expect.message_includes ?? []) {
        assert.ok(
          error.message.includes(part),
          `${where}: message ${JSON.stringify(error.message)} names ${part}`,
        );
      }
    }
    if (op.op !== 'init' && expect.step !== undefined) {
      assert.equal(handles.get(label ?? '')?.step, expect.step, `${where}: run.step`);
    }
    if (expect.warnings !== undefined) {
      assert.deepEqual([...warned].sort(), [...expect.warnings].sort(), `${where}: keys warned about`);
    }
  }
  return handles;
}

function initOptions(options: Record<string, unknown>, logdir: string): InitOptions {
  const out: Record<string, unknown> = { logdir };
  for (const [name, value] of Object.entries(options)) {
    const mapped = OPTION_NAMES[name];
    assert.ok(mapped !== undefined, `the runner does not know the option ${name}`);
    out[mapped] = value;
  }
  return out as InitOptions;
}

function checkInit(run: Run, expect: OpExpect | undefined, where: string): void {
  if (expect === undefined || expect.error !== undefined) return;
  if (expect.id !== undefined) assert.equal(run.id, expect.id, `${where}: run.id`);
  if (expect.id_generated === true) assert.match(run.id, /^[0-9a-z]{21}$/, `${where}: a generated id`);
  if (expect.resumed !== undefined) assert.equal(run.resumed, expect.resumed, `${where}: run.resumed`);
  if (expect.step !== undefined) assert.equal(run.step, expect.step, `${where}: run.step`);
  if (expect.config !== undefined) assert.deepEqual(run.config, expect.config, `${where}: run.config`);
}

/** `{"$number": "NaN" | "Infinity" | "-Infinity"}` stands for the number JSON cannot hold. */
function decodeData(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]![0] === '$number') return Number(entries[0]![1]);
  return Object.fromEntries(entries.map(([k, v]) => [k, decodeData(v)]));
}

function checkOutcome(c: SdkCase, logdir: string, handles: Map<string, Run>, viaCli: boolean): void {
  const expect = c.expect ?? {};
  if (expect.run_dirs !== undefined)
    assert.equal(listRunDirs(logdir).length, expect.run_dirs, 'run directories');
  for (const [label, outcome] of Object.entries(expect.runs ?? {})) {
    const dir = handles.get(label)?.dir;
    assert.ok(typeof dir === 'string', `no run directory for handle ${label}`);
    const seen = readOutcome(dir);
    if (viaCli) assert.deepEqual(readOutcomeWithCli(dir), seen, 'the CLI reads the run as the reader does');
    if (outcome.points !== undefined)
      assert.deepEqual(seen.points, outcome.points, `${label}: visible points`);
    if (outcome.config !== undefined) assert.deepEqual(seen.config, outcome.config, `${label}: config`);
    if (outcome.config_revisions !== undefined)
      assert.equal(seen.configRevisions, outcome.config_revisions, `${label}: config revisions`);
    if (outcome.segments !== undefined)
      assert.equal(seen.segmentFromSteps.length, outcome.segments, `${label}: segments`);
    if (outcome.segment_from_steps !== undefined)
      assert.deepEqual(seen.segmentFromSteps, outcome.segment_from_steps, `${label}: segments' fromStep`);
    if (outcome.state !== undefined) assert.equal(seen.state, outcome.state, `${label}: state`);
  }
}

interface SeenRun {
  points: Record<string, [number, number | string][]>;
  config: Record<string, unknown>;
  configRevisions: number;
  segmentFromSteps: (number | null)[];
  state: string;
}

function readOutcome(dir: string): SeenRun {
  const reader = RunReader.open(dir);
  try {
    const points: SeenRun['points'] = {};
    for (const key of reader.keys()) {
      const s = reader.series(key);
      const list: [number, number | string][] = [];
      for (let i = 0; i < s.steps.length; i++) list.push([s.steps[i]!, encodeValue(s.values[i]!)]);
      if (list.length > 0) Object.defineProperty(points, key, { value: list, enumerable: true });
    }
    return {
      points,
      config: reader.config(),
      configRevisions: reader.configRevisions().length,
      segmentFromSteps: reader.segments().map((s) => s.fromStep),
      state: reader.state(),
    };
  } finally {
    reader.close();
  }
}

/** What a runner in another language reads: `swanlog show --json` and `swanlog export`. */
function readOutcomeWithCli(dir: string): SeenRun {
  const show = JSON.parse(
    execFileSync(process.execPath, [cliBin, 'show', dir, '--json'], { encoding: 'utf8' }),
  ) as {
    config: Record<string, unknown>;
    configRevisions: unknown[];
    segments: { fromStep: number | null }[];
    state: string;
  };
  const points: SeenRun['points'] = {};
  const lines = execFileSync(process.execPath, [cliBin, 'export', dir], { encoding: 'utf8' });
  for (const line of lines.split('\n')) {
    if (line === '') continue;
    const p = JSON.parse(line) as { key: string; step: number; value: number | string };
    const list = Object.hasOwn(points, p.key) ? points[p.key]! : [];
    if (list.length === 0) Object.defineProperty(points, p.key, { value: list, enumerable: true });
    list.push([p.step, p.value]);
  }
  return {
    points,
    config: show.config,
    configRevisions: show.configRevisions.length,
    segmentFromSteps: show.segments.map((s) => s.fromStep),
    state: show.state,
  };
}
