import type { ExperimentInfo, MetricPoint, RunState, ServerInfo } from '@swanlog/protocol';
import type { ExperimentMeta, RunsTableWire } from './runs-table.js';

/** What `GET /api/v1/server` answers: the server's info plus which backend serves the page. */
export interface DashboardServerInfo extends ServerInfo {
  mode: 'server' | 'watch';
  /** Whether this session may change team metadata (a write key on `swanlog server`). */
  canEdit?: boolean;
  /** The session's token for `X-CSRF-Token` on metadata changes. */
  csrfToken?: string | null;
}

/** A run as the runs list shows it; `swanlog watch` adds its directory and sync records. */
export interface RunInfo extends ExperimentInfo {
  segments?: unknown;
  sync?: unknown;
  dir?: string;
}

export interface Segment {
  id: string;
  source: string;
  startedAt: number | string;
  endedAt: number | string | null;
  resumed: boolean;
  fromStep: number | null;
  state: RunState | string;
  firstStep: number | null;
  host?: string;
  pid?: number;
}

export interface RunDetails {
  segments: Segment[];
  configRevisions: { ts: number; source: string | null; patch: Record<string, unknown> }[];
  rewinds: { step: number; ts: number }[];
}

export interface SeriesAnswer {
  key: string;
  points: MetricPoint[];
  total: number;
  downsampled: boolean;
}

export interface SeriesQuery {
  maxPoints?: number;
  from?: number;
  to?: number;
  superseded?: boolean;
}

/** The API path of a run (`/experiments/<id>`), as `api.run` asks for it. */
export function runPath(id: string): string {
  return `/experiments/${encodeURIComponent(id)}`;
}

/** An error answer of the API, with the server's code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const PREFIX = '/api/v1';

/** Answers asked for before the page needed them (`prefetch`), each taken once by `getJson`. */
const prefetched = new Map<string, Promise<unknown>>();

/**
 * Starts GET requests the page will make, so they run while it waits for another (the run page's
 * run and details while `/server` answers). A failure is kept for the `getJson` that takes it.
 */
export function prefetch(...paths: string[]): void {
  for (const path of paths) {
    const answer = fetchJson(path);
    answer.catch(() => {});
    prefetched.set(path, answer);
  }
}

/** GET a JSON route; a non-2xx answer throws ApiError with the server's message. */
export async function getJson<T>(path: string): Promise<T> {
  const early = prefetched.get(path);
  if (early !== undefined) {
    prefetched.delete(path);
    return (await early) as T;
  }
  return fetchJson<T>(path);
}

declare global {
  interface Window {
    /** Requests index.html starts before this script runs (`/server`, a run page's run and details). */
    __swanlogEarly?: Record<string, Promise<Response> | undefined>;
    /** The run page's first-screen series that index.html asked for. */
    __swanlogEarlySeries?: EarlySeries;
  }
}

/** Series index.html asked for on a run page (early.ts): the first screen's keys, in one request. */
export interface EarlySeries {
  id: string;
  maxPoints: number;
  /** The keys asked for (each taken once by `api.series`). */
  keys: Promise<Set<string>>;
  answer: Promise<{ series: SeriesAnswer[] }>;
}

/** How long after navigation the early series are used: never to answer a later refresh. */
const EARLY_SERIES_MS = 10_000;

/**
 * The early answer for one key, when index.html asked for it with at least the points wanted and
 * no step range; otherwise (or when that request failed) `fallback`.
 */
function earlySeries(
  id: string,
  key: string,
  query: SeriesQuery,
  fallback: () => Promise<SeriesAnswer>,
): Promise<SeriesAnswer> | undefined {
  const early = typeof window === 'undefined' ? undefined : window.__swanlogEarlySeries;
  if (early === undefined || early.id !== id || performance.now() > EARLY_SERIES_MS) return undefined;
  if (query.from !== undefined || query.to !== undefined || query.superseded) return undefined;
  if (query.maxPoints !== undefined && query.maxPoints > early.maxPoints) return undefined;
  return early.keys.then(
    (keys) => {
      if (!keys.delete(key)) return fallback();
      return early.answer.then(
        (a) => a.series.find((s) => s.key === key) ?? fallback(),
        () => fallback(),
      );
    },
    () => fallback(),
  );
}

/** The response index.html already asked for, taken once; a failed early request is asked again. */
async function earlyResponse(path: string): Promise<Response | undefined> {
  const early = typeof window === 'undefined' ? undefined : window.__swanlogEarly;
  const answer = early?.[path];
  if (answer === undefined) return undefined;
  delete early![path];
  try {
    return await answer;
  } catch {
    return undefined;
  }
}

async function fetchJson<T>(path: string): Promise<T> {
  const res =
    (await earlyResponse(path)) ??
    (await fetch(PREFIX + path, {
      headers: { accept: 'application/json' },
      credentials: 'same-origin',
    }));
  if (!res.ok) throw await toApiError(res);
  return (await res.json()) as T;
}

export const api = {
  server: () => getJson<DashboardServerInfo>('/server'),
  runs: (workspace: string) =>
    getJson<{ experiments: RunInfo[] }>(`/workspaces/${encodeURIComponent(workspace)}/experiments`),
  runsTable: (workspace: string) =>
    getJson<RunsTableWire>(`/workspaces/${encodeURIComponent(workspace)}/runs-table`),
  /** Changes a run's team metadata; a cookie session sends its CSRF token. */
  patchMeta: async (
    id: string,
    patch: { tags?: string[]; note?: string; name?: string; archived?: boolean },
    csrfToken: string | null | undefined,
  ): Promise<ExperimentMeta> => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (csrfToken) headers['x-csrf-token'] = csrfToken;
    const res = await fetch(`${PREFIX}/experiments/${encodeURIComponent(id)}/meta`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify(patch),
      credentials: 'same-origin',
    });
    if (!res.ok) throw await toApiError(res);
    return (await res.json()) as ExperimentMeta;
  },
  /** `swanlog watch` only: run directories it could not read. */
  problems: (workspace: string) =>
    getJson<{ dir: string; code: string; message: string }[]>(
      `/workspaces/${encodeURIComponent(workspace)}/problems`,
    ),
  run: (id: string) => getJson<RunInfo>(runPath(id)),
  details: (id: string) => getJson<RunDetails>(`${runPath(id)}/details`),
  /**
   * One key's points. The first screen's keys come from the request index.html made (early.ts)
   * when it asked for at least `maxPoints`; other calls made in the same task for one run and the
   * same query are sent together, up to SERIES_BATCH keys per request
   * (`GET /experiments/:id/metrics?key=…`).
   */
  series: (id: string, key: string, query: SeriesQuery = {}): Promise<SeriesAnswer> =>
    earlySeries(id, key, query, () => batchedSeries(id, key, query)) ?? batchedSeries(id, key, query),
  /** Signs in with an API key; the server answers with an HttpOnly cookie the page never reads. */
  signIn: async (apiKey: string): Promise<void> => {
    const res = await fetch(`${PREFIX}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey }),
      credentials: 'same-origin',
    });
    if (!res.ok) throw await toApiError(res);
  },
  signOut: async (): Promise<void> => {
    await fetch(`${PREFIX}/session`, { method: 'DELETE', credentials: 'same-origin' });
  },
};

function batchedSeries(id: string, key: string, query: SeriesQuery): Promise<SeriesAnswer> {
  return new Promise((resolve, reject) => {
    const qs = seriesParams(query);
    const name = `${id}?${qs}`;
    let batch = batches.get(name);
    if (batch === undefined) {
      batch = { id, qs, waiting: new Map() };
      batches.set(name, batch);
    }
    const waiting = batch.waiting.get(key) ?? [];
    waiting.push({ resolve, reject });
    batch.waiting.set(key, waiting);
    if (!flushQueued) {
      flushQueued = true;
      queueMicrotask(flushSeries);
    }
  });
}

/** At most this many keys per series request: the first chart waits for the slowest of its batch. */
export const SERIES_BATCH = 16;

interface Waiter {
  resolve: (answer: SeriesAnswer) => void;
  reject: (error: unknown) => void;
}
/** Series asked for in this task, by run and query. */
const batches = new Map<string, { id: string; qs: string; waiting: Map<string, Waiter[]> }>();
let flushQueued = false;

function seriesParams(query: SeriesQuery): string {
  const params = new URLSearchParams();
  if (query.maxPoints !== undefined)
    params.set('maxPoints', String(Math.max(1, Math.round(query.maxPoints))));
  if (query.from !== undefined) params.set('from', String(Math.floor(query.from)));
  if (query.to !== undefined) params.set('to', String(Math.ceil(query.to)));
  if (query.superseded) params.set('superseded', '1');
  return params.toString();
}

const oneSeries = (id: string, key: string, qs: string) =>
  getJson<SeriesAnswer>(
    `/experiments/${encodeURIComponent(id)}/metrics/${encodeURIComponent(key)}${qs ? `?${qs}` : ''}`,
  );

function settle(waiters: Waiter[], answer: Promise<SeriesAnswer>): void {
  answer.then(
    (a) => {
      for (const w of waiters) w.resolve(a);
    },
    (error) => {
      for (const w of waiters) w.reject(error);
    },
  );
}

/** Sends the series asked for in this task: a key alone by its own route, several in one request. */
function flushSeries(): void {
  flushQueued = false;
  const pending = [...batches.values()];
  batches.clear();
  for (const { id, qs, waiting } of pending) {
    const keys = [...waiting.keys()];
    for (let at = 0; at < keys.length; at += SERIES_BATCH) {
      const part = keys.slice(at, at + SERIES_BATCH);
      if (part.length === 1) {
        settle(waiting.get(part[0]!)!, oneSeries(id, part[0]!, qs));
        continue;
      }
      const params = new URLSearchParams(qs);
      for (const key of part) params.append('key', key);
      const answer = getJson<{ series: SeriesAnswer[] }>(
        `/experiments/${encodeURIComponent(id)}/metrics?${params}`,
      );
      for (const [i, key] of part.entries()) {
        // A failed batch (a key gone meanwhile) asks again key by key, so each chart gets its own answer.
        settle(
          waiting.get(key)!,
          answer.then(
            (a) => a.series[i]!,
            () => oneSeries(id, key, qs),
          ),
        );
      }
    }
  }
}

async function toApiError(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const parsed = JSON.parse(text) as {
      code?: string;
      message?: string;
      error?: { code?: string; message?: string };
    };
    const body = parsed.error ?? parsed;
    return new ApiError(res.status, body.code ?? 'SERVER_ERROR', body.message ?? `HTTP ${res.status}`);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return new ApiError(res.status, 'SERVER_ERROR', text.trim() || `HTTP ${res.status}`);
  }
}
