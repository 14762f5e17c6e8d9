// Scenario 5: damaged and hostile inputs. Garbled/truncated database files in copies of real runs,
// a wrong format version, a directory that is not a run, symlinks out of the logdir, huge keys,
// 100,000 keys, unicode and control characters, non-finite and non-numeric values. Each must get a
// clear coded error (CLI: `error[CODE]`, exit 1, no stack) or be stored faithfully — never a crash,
// never a silent drop.
//
// Symlinks, decided: a run directory symlinked into the logdir is a run like any other (users put
// runs on bigger volumes); a `writers/<source>.sqlite` that is a symlink is read if it is that
// run's writer file (same content as a copy), and must be refused with a coded error when it is
// another run's file or dangles.
import {
  cpSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isSwanlogError } from '@swanlog/protocol';
import { RunReader, verifyRun } from '@swanlog/store';
import { init } from 'swanlog';
import { describeError, range } from '../support/check-run.js';
import { describe, errorCode, hasStack, type ProcResult, REPO_ROOT, runCli } from '../support/procs.js';
import { writeRun } from '../support/runs.js';
import { diffSeries, localSeries, serverSeries } from '../support/series.js';
import { startFaultServer, syncEnv } from '../support/server.js';
import { tempDir } from '../support/temp.js';
import type { ScenarioContext, ScenarioResult } from '../support/types.js';

const FIXTURES = join(REPO_ROOT, 'swanlog-fixtures', 'logdir');
const DAMAGE_CODES = ['RUN_DIR_CORRUPT', 'UNSUPPORTED_FORMAT'];

/** ok when exit 0, or exit 1 with `error[CODE]` of `codes`; never a stack trace. */
function cliVerdict(res: ProcResult, codes: string[], mustFail = false): string | undefined {
  if (hasStack(res.stderr)) return `stack trace: ${describe(res)}`;
  if (res.code === 0 && !mustFail) return undefined;
  const code = errorCode(res.stderr);
  if (res.code !== 1 || code === undefined || !codes.includes(code))
    return `expected ${mustFail ? '' : 'exit 0 or '}error[${codes.join('|')}] exit 1: ${describe(res)}`;
  return undefined;
}

export async function damagedScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const r: ScenarioResult = {
    name: 'damaged inputs',
    trials: 0,
    survived: 0,
    lost: 0,
    duplicated: 0,
    notes: [],
  };
  const root = tempDir('damaged');
  const trial = async (what: string, fn: () => Promise<string | undefined>) => {
    r.trials++;
    let failed: string | undefined;
    const t0 = Date.now();
    try {
      failed = await fn();
      if (Date.now() - t0 > 3000) ctx.say(`  ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (error) {
      failed = `threw ${describeError(error)}`;
    }
    if (failed === undefined) r.survived++;
    else r.notes.push(`${what}: ${failed}`);
  };
  await garbled(ctx, root, r, trial);
  await fixedInputs(root, trial);
  await symlinks(root, trial);
  await keysAndValues(root, r, trial);
  return r;
}

type Trial = (what: string, fn: () => Promise<string | undefined>) => Promise<void>;

async function exportAll(dir: string): Promise<ProcResult> {
  return runCli(['export', dir, '--format', 'jsonl', '--all']);
}

async function garbled(ctx: ScenarioContext, root: string, r: ScenarioResult, trial: Trial) {
  const base = await writeRun({ logdir: join(root, 'base'), id: 'garble-base', steps: 3000, rewindTo: 1000 });
  const original = (await exportAll(base)).stdout;
  const originalLines = original.split('\n').filter((l) => l !== '').length;
  for (const t of range(0, ctx.quick ? 6 : 24)) {
    const dir = join(root, `garbled-${t}`);
    cpSync(base, dir, { recursive: true });
    const files = ['run.sqlite', ...readdirSync(join(dir, 'writers')).map((f) => join('writers', f))];
    const file = ctx.rng.pick(files);
    const path = join(dir, file);
    const size = statSync(path).size;
    const kind = ctx.rng.pick(['truncate', 'overwrite', 'zero-page', 'header'] as const);
    let how: string = kind;
    const buf = readFileSync(path);
    if (kind === 'truncate') {
      const at = ctx.rng.int(0, size - 1);
      truncateSync(path, at);
      how = `truncate at ${at}/${size}`;
    } else {
      const at = kind === 'header' ? ctx.rng.int(0, 99) : ctx.rng.int(0, size - 1);
      const len = kind === 'zero-page' ? 4096 : ctx.rng.int(1, kind === 'header' ? 8 : 512);
      for (let i = at; i < Math.min(size, at + len); i++)
        buf[i] = kind === 'zero-page' ? 0 : ctx.rng.int(0, 255);
      writeFileSync(path, buf);
      how = `${kind} ${len} bytes at ${at}/${size}`;
    }
    await trial(`garbled ${file} (${how})`, async () => {
      const v = await runCli(['verify', dir]);
      const bad = cliVerdict(v, DAMAGE_CODES);
      if (bad !== undefined) return `verify: ${bad}`;
      const e = await exportAll(dir);
      const badE = cliVerdict(e, DAMAGE_CODES);
      if (badE !== undefined) return `export: ${badE}`;
      // In-process: open and read every key, or a SwanlogError.
      try {
        const reader = RunReader.open(dir);
        try {
          for (const k of reader.keys()) reader.series(k, { superseded: true });
        } finally {
          reader.close();
        }
      } catch (error) {
        if (!isSwanlogError(error)) return `RunReader: ${describeError(error)}`;
      }
      if (e.code === 0 && e.stdout !== original) {
        const lines = e.stdout.split('\n').filter((l) => l !== '').length;
        r.lost += Math.max(0, originalLines - lines);
        return `export succeeded with different data (${lines} lines, originally ${originalLines}; verify exit ${v.code})`;
      }
      return undefined;
    });
    rmSync(dir, { recursive: true, force: true });
  }
}

async function fixedInputs(root: string, trial: Trial) {
  const fixture = (name: string) => {
    const n = readdirSync(FIXTURES).find((d) => d.endsWith(`-${name}`))!;
    const dir = join(root, 'fixtures', n);
    cpSync(join(FIXTURES, n), dir, { recursive: true });
    return dir;
  };
  const cases: [string, () => string, string[]][] = [
    ['wrong format version (fx-future-version)', () => fixture('fx-future-version'), ['UNSUPPORTED_FORMAT']],
    ['foreign file as run.sqlite (fx-foreign)', () => fixture('fx-foreign'), DAMAGE_CODES],
    ['truncated run (fx-truncated)', () => fixture('fx-truncated'), DAMAGE_CODES],
    [
      'a directory that is not a run',
      () => {
        const d = join(root, 'not-a-run', 'run-20200101_000000-nope');
        cpSync(join(REPO_ROOT, 'README.md'), join(d, 'README.md'), { recursive: true });
        return d;
      },
      [...DAMAGE_CODES, 'RUN_NOT_FOUND', 'NOT_FOUND'],
    ],
    [
      'an empty run.sqlite',
      () => {
        const d = join(root, 'empty-db', 'run-20200101_000000-empty');
        cpSync(join(REPO_ROOT, 'README.md'), join(d, 'x'), { recursive: true });
        writeFileSync(join(d, 'run.sqlite'), '');
        return d;
      },
      DAMAGE_CODES,
    ],
  ];
  for (const [what, make, codes] of cases) {
    await trial(what, async () => {
      const dir = make();
      for (const args of [
        ['verify', dir],
        ['export', dir, '--format', 'csv'],
        ['show', dir],
        ['copy', dir, '--into', join(root, 'copies')],
      ]) {
        const res = await runCli(args);
        const bad = cliVerdict(res, codes, true);
        if (bad !== undefined) return `${args[0]}: ${bad}`;
      }
      return undefined;
    });
  }
  await trial('ls of a logdir holding damaged runs next to a good one', async () => {
    const logdir = join(root, 'mixed');
    cpSync(FIXTURES, logdir, { recursive: true });
    const res = await runCli(['ls', logdir, '--json']);
    if (hasStack(res.stderr)) return `stack trace: ${describe(res)}`;
    if (!res.stdout.includes('fx-finished')) return `the good run is not listed: ${describe(res)}`;
    return undefined;
  });
}

async function symlinks(root: string, trial: Trial) {
  const elsewhere = join(root, 'elsewhere');
  const a = await writeRun({ logdir: elsewhere, id: 'link-a', steps: 500 });
  const b = await writeRun({ logdir: elsewhere, id: 'link-b', steps: 500, keys: ['other'] });
  const aExport = (await exportAll(a)).stdout;
  await trial('run directory symlinked into the logdir', async () => {
    const logdir = join(root, 'linked-logdir');
    cpSync(join(REPO_ROOT, 'README.md'), join(logdir, '.keep'));
    const link = join(logdir, a.split('/').at(-1)!);
    symlinkSync(a, link);
    const v = await runCli(['verify', link]);
    if (v.code !== 0) return `verify: ${describe(v)}`;
    const e = await exportAll(link);
    if (e.code !== 0 || e.stdout !== aExport) return `export differs: ${describe(e)}`;
    const ls = await runCli(['ls', logdir, '--json']);
    if (ls.code !== 0 || !ls.stdout.includes('link-a')) return `ls: ${describe(ls)}`;
    return undefined;
  });
  const withWriterLink = (name: string, target: (writerFile: string) => string) => {
    const dir = join(root, `wl-${name}`, a.split('/').at(-1)!);
    cpSync(a, dir, { recursive: true });
    const w = readdirSync(join(dir, 'writers'))[0]!;
    const file = join(dir, 'writers', w);
    const to = target(file);
    rmSync(file);
    symlinkSync(to, file);
    return dir;
  };
  await trial('writers/x.sqlite → a copy of itself outside the run', async () => {
    const dir = withWriterLink('self', (f) => {
      const out = join(root, 'outside-self.sqlite');
      cpSync(f, out);
      return out;
    });
    for (const args of [
      ['verify', dir],
      ['export', dir, '--format', 'jsonl', '--all'],
    ]) {
      const res = await runCli(args);
      const bad = cliVerdict(res, DAMAGE_CODES);
      if (bad !== undefined) return `${args[0]}: ${bad}`;
      if (args[0] === 'export' && res.code === 0 && res.stdout !== aExport)
        return 'export succeeded with different data';
    }
    return undefined;
  });
  await trial("writers/x.sqlite → another run's writer file", async () => {
    const other = join(b, 'writers', readdirSync(join(b, 'writers'))[0]!);
    const dir = withWriterLink('foreign', () => other);
    for (const args of [
      ['verify', dir],
      ['export', dir, '--format', 'jsonl'],
    ]) {
      const res = await runCli(args);
      const bad = cliVerdict(res, DAMAGE_CODES, true);
      if (bad !== undefined) return `${args[0]}: ${bad}`;
    }
    return undefined;
  });
  await trial('writers/x.sqlite → a dangling symlink', async () => {
    const dir = withWriterLink('dangling', () => join(root, 'no-such-file.sqlite'));
    for (const args of [
      ['verify', dir],
      ['export', dir, '--format', 'jsonl'],
    ]) {
      const res = await runCli(args);
      const bad = cliVerdict(res, DAMAGE_CODES, true);
      if (bad !== undefined) return `${args[0]}: ${bad}`;
    }
    return undefined;
  });
}

/** Expects `fn` to throw a SwanlogError with `code`; returns a problem or undefined. */
function expectCode(code: string, fn: () => unknown, what: string, mustName?: string): string | undefined {
  try {
    fn();
  } catch (error) {
    if (!isSwanlogError(error)) return `${what}: uncoded ${describeError(error)}`;
    if (error.code !== code) return `${what}: ${error.code} instead of ${code}`;
    if (mustName !== undefined && !error.message.includes(JSON.stringify(mustName).slice(1, 20))) {
      return `${what}: message does not name the key: ${error.message}`;
    }
    return undefined;
  }
  return `${what}: accepted, expected ${code}`;
}

async function keysAndValues(root: string, r: ScenarioResult, trial: Trial) {
  const logdir = join(root, 'values');
  const server = await startFaultServer();
  try {
    const good = [
      'k'.repeat(255),
      '损失/λ',
      'émoji 🚀/loss',
      'שלום/accuracy',
      'e\u0301 combining',
      'zero\u200bwidth',
      'a/b/c/../d',
      '%2F percent',
      ' spaced ',
    ];
    const specials = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -0,
      5e-324,
      Number.MAX_VALUE,
      -1.5e-300,
    ];
    let dir = '';
    await trial('keys: 255 chars and unicode stored; NaN/±Infinity/-0/extremes round trip', async () => {
      const run = await init({ logdir, project: 'keys', name: 'ünïcødé 名前 🚀', flushInterval: 0 });
      dir = run.dir!;
      specials.forEach((v, step) => {
        run.log(Object.fromEntries(good.map((k) => [k, v])), step);
      });
      await run.finish();
      const reader = RunReader.open(dir);
      try {
        const keys = reader.keys();
        for (const k of good)
          if (!keys.includes(k)) return `key ${JSON.stringify(k)} missing (keys: ${JSON.stringify(keys)})`;
        for (const k of good) {
          const s = reader.series(k);
          for (let i = 0; i < specials.length; i++) {
            if (!Object.is(s.values[i], specials[i])) {
              r.lost++;
              return `${JSON.stringify(k)}@${i}: ${s.values[i]} instead of ${Object.is(specials[i], -0) ? '-0' : specials[i]}`;
            }
          }
        }
        if (reader.meta.name !== 'ünïcødé 名前 🚀')
          return `name stored as ${JSON.stringify(reader.meta.name)}`;
      } finally {
        reader.close();
      }
      verifyRun(dir);
      const e = await runCli(['export', dir, '--format', 'jsonl']);
      if (e.code !== 0) return `export: ${describe(e)}`;
      const rows = e.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { key: string; value: unknown });
      if (rows.length !== good.length * specials.length) return `export has ${rows.length} rows`;
      for (const want of ['NaN', 'Infinity', '-Infinity']) {
        if (!rows.some((x) => x.value === want)) return `export lacks the string ${want}`;
      }
      // And through sync to the server, exactly.
      const s = await runCli(['sync', '--json', dir], { env: syncEnv(server) });
      if (s.code !== 0) return `sync: ${describe(s)}`;
      const id = (JSON.parse(s.stdout) as { experimentId: string }[])[0]!.experimentId;
      const d = diffSeries(localSeries(dir), await serverSeries(server.client, id));
      r.lost += d.lost;
      r.duplicated += d.extra;
      if (d.first !== undefined) return `server ≠ local: ${d.first}`;
      return undefined;
    });
    await trial(
      'bad keys and non-numeric values: INVALID_VALUE naming the key, nothing of the call stored',
      async () => {
        const run = await init({ logdir, project: 'keys', flushInterval: 0 });
        run.log({ ok: 1 }, 0);
        const bads: [string, () => unknown, string?][] = [
          ['256-char key', () => run.log({ ['k'.repeat(256)]: 1, ok: 2 }, 1)],
          ['empty key', () => run.log({ '': 1, ok: 2 }, 1)],
          ...['\n', '\t', '\u0000', '\u001b[31m', '\u007f', '\u0085', '\ud800', '\udc00'].map(
            (c): [string, () => unknown] => [
              `key with ${JSON.stringify(c)}`,
              () => run.log({ ok: 2, [`a${c}b`]: 1 }, 1),
            ],
          ),
          ...(
            [
              ['string', '1'],
              ['null', null],
              ['undefined', undefined],
              ['boolean', true],
              // A plain nested object flattens into `bad_value/…` keys; objects of other kinds are refused.
              ['Date', new Date(0)],
              ['Map', new Map([['a', 1]])],
              ['array', [1]],
              ['bigint', 1n],
            ] as const
          ).map((pair): [string, () => unknown, string] => [
            `${pair[0]} value`,
            () => run.log({ ok: 2, bad_value: pair[1] as unknown as number }, 1),
            'bad_value',
          ]),
        ];
        for (const [what, fn, name] of bads) {
          const p = expectCode('INVALID_VALUE', fn, what, name);
          if (p !== undefined) return p;
        }
        await run.finish();
        const reader = RunReader.open(run.dir!);
        try {
          const s = reader.series('ok');
          if (s.steps.length !== 1 || s.values[0] !== 1)
            return `ok holds ${Array.from(s.steps).join(',')} (a rejected call left points)`;
          if (reader.keys().length !== 1) return `keys ${JSON.stringify(reader.keys())}`;
        } finally {
          reader.close();
        }
        return undefined;
      },
    );
    await trial('100,000 keys in one run', async () => {
      const run = await init({ logdir, project: 'keys', flushInterval: 1000 });
      const keys = range(0, 100_000).map((i) => `layer${i % 97}/param${i}`);
      for (const step of [0, 1]) run.log(Object.fromEntries(keys.map((k, i) => [k, i + step / 2])), step);
      await run.finish();
      // Bounded: a verify or export that does not end in 40 s fails the trial (and keeps the suite short).
      const v = await runCli(['verify', run.dir!], { timeoutMs: 40_000 });
      if (v.code !== 0)
        return `verify: ${v.signal === 'SIGKILL' ? 'did not finish within 40 s' : describe(v)}`;
      const reader = RunReader.open(run.dir!);
      try {
        const got = reader.keys();
        if (got.length !== keys.length) {
          r.lost += Math.max(0, keys.length - got.length) * 2;
          return `${got.length} keys read back`;
        }
        for (const i of [0, 1, 4242, 99_999]) {
          const s = reader.series(keys[i]!);
          if (s.steps.length !== 2 || s.values[0] !== i || s.values[1] !== i + 0.5)
            return `${keys[i]} holds ${Array.from(s.values)}`;
        }
      } finally {
        reader.close();
      }
      const e = await runCli(['export', run.dir!, '--format', 'csv'], { timeoutMs: 40_000 });
      if (e.signal === 'SIGKILL') return 'export did not finish within 40 s';
      const lines = e.stdout.split('\n').filter((l) => l !== '').length;
      if (e.code !== 0 || lines !== 200_001) return `export: ${lines} lines; ${describe(e)}`;
      return undefined;
    });
  } finally {
    await server.close();
  }
}
