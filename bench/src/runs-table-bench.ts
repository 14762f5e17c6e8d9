import { join } from 'node:path';
import { createApiKey, openSqliteStorage, startServer } from '@swanlog/server';
import { launchHeadlessChromium, WEB_ROOT } from './headless-chromium.js';

export interface RunsTableBenchResult {
  runs_table_runs: number;
  /** The first request: every run's summaries computed. */
  runs_table_cold_ms: number;
  /** Median of 5 later requests: summaries from the per-experiment cache. */
  runs_table_ms: number;
  /** Baseline: the plain experiments list of the same runs (median of 5). */
  experiments_list_ms: number;
  /** In Chromium, the table loaded: a filter expression typed to its rows laid out (median of 5). */
  runs_table_filter_ms: number;
  /** The same for a click on a metric column's header (sort). */
  runs_table_sort_ms: number;
  /** Baseline: clearing the filter (every run back, the first page laid out). */
  runs_table_unfiltered_ms: number;
}

const CONFIG_KEYS = 20;
const METRIC_KEYS = 10;
const STEPS = 200;

/**
 * `GET /workspaces/:ws/runs-table` for `runs` experiments with 20 config keys and 10 metrics of
 * 200 steps each, on a real SQLite server, beside `GET /workspaces/:ws/experiments` of the same runs.
 */
export async function runsTableBench(work: string, runs: number): Promise<RunsTableBenchResult> {
  const dataDir = join(work, 'runs-table-server');
  const storage = openSqliteStorage({ dataDir });
  try {
    for (let r = 0; r < runs; r++) {
      const { experiment } = storage.createExperiment('bench', {
        requestKey: `rk-${r}`,
        project: 'sweep',
        name: `run ${r}`,
        createdAt: 1_700_000_000_000 + r,
        copiedFrom: null,
      }) as { experiment: { id: string } };
      const ref = { workspace: 'bench', id: experiment.id };
      const patch: Record<string, unknown> = {
        optimizer: { name: r % 2 ? 'adam' : 'sgd', lr: 10 ** -(r % 5) },
      };
      for (let k = 0; k < CONFIG_KEYS - 2; k++) patch[`hp${k}`] = (r * 31 + k) % 97;
      storage.addConfigRevisions(ref, [{ ts: 1, source: null, patch }]);
      const chunks = [];
      for (let k = 0; k < METRIC_KEYS; k++) {
        const steps = new Float64Array(STEPS);
        const values = new Float64Array(STEPS);
        const ts = new Float64Array(STEPS);
        const seqs = new Float64Array(STEPS);
        for (let s = 0; s < STEPS; s++) {
          steps[s] = s;
          values[s] = Math.exp(-s / 50) * (1 + k) + Math.sin(s + r) * 0.01;
          seqs[s] = s * METRIC_KEYS + k;
          ts[s] = 1_700_000_000_000 + seqs[s]!;
        }
        chunks.push({ key: `metric/${k}`, points: { steps, values, ts, seqs } });
      }
      // One source whose sequence numbers interleave the keys, as a writer's do.
      const result = storage.ingest(ref, [
        {
          source: 'writer',
          fromSeq: -1,
          toSeq: STEPS * METRIC_KEYS - 1,
          session: {
            segment: 'seg',
            host: 'bench',
            pid: 1,
            startedAt: 1_700_000_000_000,
            clockStart: 1_700_000_000_000,
            resumed: false,
            fromStep: null,
            endedAt: 1_700_000_100_000,
            endState: 'finished',
            heartbeatAt: 1_700_000_100_000,
          },
          rewinds: [],
          chunks,
        },
      ]) as { status: string };
      if (result.status !== 'stored') throw new Error(`runs-table bench: ingest answered ${result.status}`);
    }
  } finally {
    storage.close();
  }
  const server = await startServer({ dataDir, port: 0, host: '127.0.0.1', webRoot: WEB_ROOT, log: () => {} });
  const key = createApiKey({ dataDir, workspace: 'bench', scope: 'read' }).key;
  const time = async (path: string, check: (body: unknown) => void) => {
    const t0 = performance.now();
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    const body = await res.json();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(body)}`);
    check(body);
    return ms;
  };
  const median = async (path: string, check: (body: unknown) => void) => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) times.push(await time(path, check));
    times.sort((a, b) => a - b);
    return Number(times[2]!.toFixed(1));
  };
  const checkTable = (body: unknown) => {
    const t = body as { runs: { config: object; metrics: object }[] };
    if (t.runs.length !== runs || Object.keys(t.runs[0]!.metrics).length !== METRIC_KEYS)
      throw new Error('runs-table bench: the table lacks runs or metrics');
    if (Object.keys(t.runs[0]!.config).length !== CONFIG_KEYS)
      throw new Error('runs-table bench: the table lacks config columns');
  };
  const checkList = (body: unknown) => {
    if ((body as { experiments: unknown[] }).experiments.length !== runs)
      throw new Error('runs-table bench: the list lacks runs');
  };
  try {
    const cold = await time('/api/v1/workspaces/bench/runs-table', checkTable);
    const runsTable = await median('/api/v1/workspaces/bench/runs-table', checkTable);
    const list = await median('/api/v1/workspaces/bench/experiments', checkList);
    const browserTimes = await tableInBrowser(server.url, key);
    return {
      runs_table_runs: runs,
      runs_table_cold_ms: Number(cold.toFixed(1)),
      runs_table_ms: runsTable,
      experiments_list_ms: list,
      ...browserTimes,
    };
  } finally {
    await server.close();
  }
}

/**
 * The runs page of `url` in headless Chromium, signed in with `key`: once its table is loaded,
 * the time from a filter expression typed (or the filter cleared, or a column header clicked) to
 * the table's rows laid out, median of 5 each.
 */
async function tableInBrowser(
  url: string,
  key: string,
): Promise<
  Pick<RunsTableBenchResult, 'runs_table_filter_ms' | 'runs_table_sort_ms' | 'runs_table_unfiltered_ms'>
> {
  const browser = await launchHeadlessChromium('runs-table');
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${url}/login`);
    const signIn = await page.evaluate(
      `fetch('/api/v1/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: ${JSON.stringify(key)} }) }).then((r) => r.status)`,
    );
    if (signIn !== 204) throw new Error(`runs-table bench: sign-in answered ${String(signIn)}`);
    await page.goto(url);
    await page.waitForSelector('[data-testid="runs-filter"]');
    await page.waitForFunction(`document.querySelectorAll('tbody tr').length > 0`);
    // (A string: bench compiles without the DOM's types.)
    const times = (await page.evaluate(`(async () => {
      const input = document.querySelector('[data-testid="runs-filter"]');
      const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
      const rows = () => document.querySelectorAll('tbody tr').length;
      const time = async (act) => {
        const t0 = performance.now();
        act();
        void document.body.offsetHeight;
        const ms = performance.now() - t0;
        await frame();
        return ms;
      };
      const type = (text) => () => {
        input.value = text;
        input.dispatchEvent(new Event('input', { bubbles: true }));
      };
      const out = { filter: [], unfiltered: [], sort: [], filtered: 0, all: 0 };
      for (let i = 0; i < 5; i++) {
        out.filter.push(await time(type('optimizer/name=adam hp3>90 metric/0<2')));
        out.filtered = rows();
        out.unfiltered.push(await time(type('')));
        out.all = rows();
        out.sort.push(await time(() => (document.querySelector('[data-testid^="sort-m:"]') ?? document.querySelector('[data-testid^="sort-c:"]')).click()));
      }
      return out;
    })()`)) as { filter: number[]; unfiltered: number[]; sort: number[]; filtered: number; all: number };
    if (!(times.filtered > 0 && times.filtered < times.all))
      throw new Error(`runs-table bench: the filter left ${times.filtered} of ${times.all} rows`);
    const med = (xs: number[]) => Number([...xs].sort((a, b) => a - b)[2]!.toFixed(1));
    return {
      runs_table_filter_ms: med(times.filter),
      runs_table_sort_ms: med(times.sort),
      runs_table_unfiltered_ms: med(times.unfiltered),
    };
  } finally {
    await browser.close();
  }
}
