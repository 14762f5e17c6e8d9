import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  API_PREFIX,
  BATCH_CONTENT_TYPE,
  type ConfigRevisionsRequest,
  type CopyExperimentRequest,
  type CreateExperimentRequest,
  type CreateExperimentResponse,
  type ExperimentInfo,
  type ExperimentList,
  type IngestResponse,
  isErrorCode,
  type MetricSeries,
  type ProjectList,
  type ServerInfo,
  SwanlogError,
  type SyncStatus,
} from '@swanlog/protocol';
import pRetry, { AbortError } from 'p-retry';

export interface ClientOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 (a missing scheme means http). */
  host: string;
  apiKey: string;
  /**
   * Retries of one request on network errors, 408, 429 and 5xx (default 8, about 25 s of backoff;
   * with `retryTimeMs` and no limit given, only the time bounds them).
   */
  retryLimit?: number;
  /**
   * Longest time one request may take, all its attempts and the waits between them together, in
   * ms (default: no bound beyond `retryLimit`). Each attempt's timeout is cut to what is left, and
   * the last wait so that one more attempt fits.
   */
  retryTimeMs?: number;
  /** Called before each retry, e.g. to tell a waiting user why nothing happens (default: quiet). */
  onRetry?: (event: RetryEvent) => void;
  /** Timeout of one attempt in ms (default 60 s). */
  timeoutMs?: number;
  /** Cap of the exponential backoff between attempts in ms (default 5 s). */
  backoffLimitMs?: number;
}

/** A failed attempt that is about to be retried. */
export interface RetryEvent {
  host: string;
  /** The request, e.g. `GET /api/v1/server`. */
  what: string;
  /** 1 for the first retry. */
  retry: number;
  /** Wait before the retry, in ms. */
  delayMs: number;
  /** Why the attempt failed: `unreachable (ECONNREFUSED)`, `answered HTTP 503`. */
  reason: string;
  /** The failure as it would be reported if no retry followed. */
  error: Error;
}

export interface MetricsQuery {
  maxPoints?: number;
  from?: number;
  to?: number;
  superseded?: boolean;
}

/** Every route of docs/api.md. Failures are SwanlogError with the server's code, message and hint. */
export interface SwanlogClient {
  readonly host: string;
  /** GET /server; answered once per client (the instance id keys sync records). */
  serverInfo(): Promise<ServerInfo>;
  getExperiment(id: string): Promise<ExperimentInfo>;
  createExperiment(request: CreateExperimentRequest): Promise<CreateExperimentResponse>;
  copyExperiment(id: string, request: CopyExperimentRequest): Promise<CreateExperimentResponse>;
  syncStatus(id: string): Promise<SyncStatus>;
  ingest(experimentId: string, body: Buffer): Promise<IngestResponse>;
  postConfig(id: string, request: ConfigRevisionsRequest): Promise<void>;
  metrics(id: string, key: string, query?: MetricsQuery): Promise<MetricSeries>;
  listProjects(workspace: string): Promise<ProjectList>;
  listExperiments(workspace: string, project?: string): Promise<ExperimentList>;
  /** Link to an experiment (the server's public URL when it has one, else the host). */
  experimentUrl(id: string): string;
}

/** Network failures worth another attempt (a server restart, a dropped connection, a timeout). */
const RETRY_ERROR_CODES = new Set([
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EADDRINUSE',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETRESET',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
/** Time left for the attempt made at a retry deadline. */
const LAST_ATTEMPT_MS = 250;
const retryStatus = (status: number) => status === 408 || status === 429 || status >= 500;

type Method = 'GET' | 'POST';

/**
 * An HTTP client of a swanlog server. Every request is retried with capped exponential backoff on
 * network errors, 408, 429 and 5xx, POSTs included (every write of the API is idempotent); other
 * 4xx answers throw a SwanlogError carrying the server's code, message and hint.
 *
 * Requests go through Node's own `http`/`https` modules with keep-alive connections: `swanlog sync`
 * is a short process, and got (~95 ms) or undici (~95 ms) took longer to load than a no-op re-sync
 * takes to run (docs/decisions.md). Retries and backoff are p-retry's.
 */
export function createClient(options: ClientOptions): SwanlogClient {
  const host = normalizeHost(options.host);
  const base = new URL(`${host}${API_PREFIX}/`);
  const https = base.protocol === 'https:';
  const transport: Transport = {
    request: https ? httpsRequest : httpRequest,
    agent: https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true }),
    headers: { authorization: `Bearer ${options.apiKey}`, 'user-agent': 'swanlog-client' },
    timeoutMs: options.timeoutMs ?? 60_000,
    retryLimit:
      options.retryLimit ??
      (options.retryTimeMs === undefined
        ? 8
        : retriesWithin(options.retryTimeMs, options.backoffLimitMs ?? 5000)),
    retryTimeMs: options.retryTimeMs ?? Number.POSITIVE_INFINITY,
    backoffLimitMs: options.backoffLimitMs ?? 5000,
    onRetry: options.onRetry,
  };
  let info: ServerInfo | undefined;
  const call = <T>(method: Method, path: string, extra: RequestExtra = {}) =>
    request<T>(transport, host, base, method, path, extra);
  const enc = encodeURIComponent;
  const exp = (id: string) => `experiments/${enc(id)}`;

  return {
    host,
    async serverInfo() {
      info ??= await call<ServerInfo>('GET', 'server');
      return info;
    },
    getExperiment: (id) => call('GET', exp(id)),
    createExperiment: (body) => call('POST', 'experiments', { json: body }),
    copyExperiment: (id, body) => call('POST', `${exp(id)}/copy`, { json: body }),
    syncStatus: (id) => call('GET', `${exp(id)}/sync`),
    ingest: (id, body) => call('POST', `${exp(id)}/ingest`, { body, contentType: BATCH_CONTENT_TYPE }),
    postConfig: async (id, body) => {
      await call('POST', `${exp(id)}/config`, { json: body });
    },
    metrics: (id, key, query = {}) => {
      const search = new URLSearchParams();
      if (query.maxPoints !== undefined) search.set('maxPoints', String(query.maxPoints));
      if (query.from !== undefined) search.set('from', String(query.from));
      if (query.to !== undefined) search.set('to', String(query.to));
      if (query.superseded === true) search.set('superseded', '1');
      return call('GET', `${exp(id)}/metrics/${enc(key)}`, { searchParams: search });
    },
    listProjects: (ws) => call('GET', `workspaces/${enc(ws)}/projects`),
    listExperiments: (ws, project) =>
      call('GET', `workspaces/${enc(ws)}/experiments`, {
        searchParams: project === undefined ? undefined : new URLSearchParams({ project }),
      }),
    experimentUrl: (id) => `${(info?.publicUrl ?? host).replace(/\/+$/, '')}/experiments/${enc(id)}`,
  };
}

interface Transport {
  request: typeof httpRequest;
  agent: HttpAgent;
  headers: Record<string, string>;
  timeoutMs: number;
  retryLimit: number;
  retryTimeMs: number;
  backoffLimitMs: number;
  onRetry: ((event: RetryEvent) => void) | undefined;
}

interface RequestExtra {
  json?: unknown;
  body?: Buffer;
  contentType?: string;
  searchParams?: URLSearchParams | undefined;
}

/** An answer with a status that is not 2xx. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    /** From a Retry-After header in seconds, when the server sent one. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}`);
    this.name = 'HttpStatusError';
  }
}

async function request<T>(
  t: Transport,
  host: string,
  base: URL,
  method: Method,
  path: string,
  extra: RequestExtra,
): Promise<T> {
  const url = new URL(path, base);
  if (extra.searchParams !== undefined) url.search = extra.searchParams.toString();
  const body = extra.json === undefined ? extra.body : Buffer.from(JSON.stringify(extra.json));
  const headers: Record<string, string> = { ...t.headers, accept: 'application/json' };
  if (body !== undefined) {
    headers['content-type'] =
      extra.json === undefined ? (extra.contentType ?? 'application/octet-stream') : 'application/json';
    headers['content-length'] = String(body.length);
  }
  const what = `${method} ${API_PREFIX}/${path}`;
  const started = Date.now();
  const deadline = started + t.retryTimeMs;
  let attempts = 0;
  let text: string;
  try {
    text = await pRetry(
      async () => {
        attempts++;
        try {
          const timeoutMs = Math.max(1, Math.min(t.timeoutMs, deadline - Date.now()));
          const answer = await send(t, method, url, headers, body, timeoutMs);
          if (answer.status >= 200 && answer.status < 300) return answer.body;
          const failure = new HttpStatusError(answer.status, answer.body, answer.retryAfterMs);
          throw retryStatus(answer.status) ? failure : new AbortError(failure);
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          if (error instanceof HttpStatusError || error instanceof AbortError) throw error;
          if (typeof code === 'string' && RETRY_ERROR_CODES.has(code)) throw error;
          throw new AbortError(error instanceof Error ? error : new Error(String(error)));
        }
      },
      {
        retries: t.retryLimit,
        // The waits are taken in onFailedAttempt, where they are known and can be reported.
        minTimeout: 0,
        maxTimeout: 0,
        onFailedAttempt: async (error) => {
          if (error.retriesLeft <= 0) return;
          // The last wait is cut so that one more attempt fits before the deadline; when none
          // fits, this failure is the last.
          const left = deadline - Date.now();
          if (left <= LAST_ATTEMPT_MS) throw error;
          const delayMs = Math.min(backoffOf(t, error.attemptNumber, error), left - LAST_ATTEMPT_MS);
          t.onRetry?.({
            host,
            what,
            retry: error.attemptNumber,
            delayMs,
            reason: reasonOf(error),
            error: toSwanlogError(error, host, what),
          });
          await sleep(delayMs);
        },
      },
    );
  } catch (error) {
    throw toSwanlogError(error, host, what, { attempts, ms: Date.now() - started });
  }
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new SwanlogError(
      'SERVER_ERROR',
      `${host} answered ${method} ${API_PREFIX}/${path} with something not JSON`,
      {
        hint: 'check that --host names a swanlog server',
        cause: error,
      },
    );
  }
}

/**
 * Capped exponential backoff with jitter (250 ms, doubling, each wait 1–2× its step, at most the
 * cap); a server that says when to come back (Retry-After) is waited for, up to the cap.
 */
function backoffOf(t: Transport, attempt: number, error: Error): number {
  const step = Math.min(250, t.backoffLimitMs) * 2 ** Math.min(attempt - 1, 30);
  const jittered = Math.min(t.backoffLimitMs, Math.round(step * (1 + Math.random())));
  const asked = error instanceof HttpStatusError ? error.retryAfterMs : undefined;
  return asked === undefined ? jittered : Math.max(jittered, Math.min(asked, t.backoffLimitMs));
}

/**
 * More retries than fit in `ms` at the shortest waits of backoffOf, so that the time alone bounds
 * them (p-retry lays out every retry in advance: a huge limit would cost each request milliseconds).
 */
function retriesWithin(ms: number, backoffLimitMs: number): number {
  let n = 0;
  for (let waited = 0; waited <= ms && n < 10_000; n++) {
    waited += Math.max(1, Math.min(backoffLimitMs, Math.min(250, backoffLimitMs) * 2 ** Math.min(n, 30)));
  }
  return n + 1;
}

function reasonOf(error: Error): string {
  if (error instanceof HttpStatusError) return `answered HTTP ${error.status}`;
  const code = (error as { code?: unknown }).code;
  return `unreachable (${typeof code === 'string' ? code : error.message})`;
}

/** One attempt: the whole answer, or a network error with its code (ETIMEDOUT past the timeout). */
function send(
  t: Transport,
  method: Method,
  url: URL,
  headers: Record<string, string>,
  body: Buffer | undefined,
  timeoutMs: number,
): Promise<{ status: number; body: string; retryAfterMs: number | undefined }> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    const req = t.request(url, { method, headers, agent: t.agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('error', fail);
      res.on('end', () => {
        if (!res.complete) {
          fail(
            Object.assign(new Error('the connection closed before the answer ended'), { code: 'ECONNRESET' }),
          );
          return;
        }
        clearTimeout(timer);
        const retryAfter = Number(res.headers['retry-after']);
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(parts).toString('utf8'),
          retryAfterMs: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
        });
      });
    });
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    req.on('error', fail);
    req.end(body);
  });
}

/**
 * Maps a failed request to our error: the server's own code for 4xx, SERVER_UNREACHABLE for the
 * network (saying how long it was tried, when `tried` tells).
 */
export function toSwanlogError(
  error: unknown,
  host: string,
  what: string,
  tried?: { attempts: number; ms: number },
): Error {
  if (error instanceof HttpStatusError) {
    const status = error.status;
    const body = parseErrorBody(error.body);
    if (body !== undefined && isErrorCode(body.code)) {
      return new SwanlogError(body.code, body.message ?? `${what} failed with ${status}`, {
        ...(body.hint === undefined ? {} : { hint: body.hint }),
        cause: error,
      });
    }
    return new SwanlogError('SERVER_ERROR', `${host} answered ${what} with HTTP ${status}`, {
      hint: status === 404 ? 'check that --host names a swanlog server' : undefined,
      cause: error,
    });
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && typeof code === 'string') {
    const how =
      tried === undefined || tried.attempts < 2
        ? ''
        : ` after trying for ${(tried.ms / 1000).toFixed(1)} s (${tried.attempts} attempts)`;
    return new SwanlogError(
      'SERVER_UNREACHABLE',
      `cannot reach the swanlog server at ${host} (${code}: ${error.message})${how}`,
      {
        hint: 'check --host (or SWANLOG_HOST) and that the server runs; `swanlog sync` picks up where it stopped',
        cause: error,
      },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

function parseErrorBody(body: string): { code?: unknown; message?: string; hint?: string } | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as { code?: unknown }) : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function normalizeHost(host: string): string {
  const trimmed = host.trim().replace(/\/+$/, '');
  return /^https?:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
}
