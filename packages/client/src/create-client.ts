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
import got, { type Got, HTTPError, type Method, RequestError } from 'got';

export interface ClientOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 (a missing scheme means http). */
  host: string;
  apiKey: string;
  /** Retries of one request on network errors, 408, 429 and 5xx (default 8, about 25 s of backoff). */
  retryLimit?: number;
  /** Timeout of one attempt in ms (default 60 s). */
  timeoutMs?: number;
  /** Cap of the exponential backoff between attempts in ms (default 5 s). */
  backoffLimitMs?: number;
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
const RETRY_ERROR_CODES = [
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
];
const RETRY_STATUS = [408, 429, ...Array.from({ length: 100 }, (_, i) => 500 + i)];
const ALL_METHODS: Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE'];

/**
 * An HTTP client of a swanlog server. Every request is retried with capped exponential backoff on
 * network errors, 408, 429 and 5xx, POSTs included (every write of the API is idempotent); other
 * 4xx answers throw a SwanlogError carrying the server's code, message and hint.
 */
export function createClient(options: ClientOptions): SwanlogClient {
  const host = normalizeHost(options.host);
  const backoffLimit = options.backoffLimitMs ?? 5000;
  const http = got.extend({
    prefixUrl: `${host}${API_PREFIX}`,
    headers: { authorization: `Bearer ${options.apiKey}`, 'user-agent': 'swanlog-client' },
    responseType: 'text',
    timeout: { request: options.timeoutMs ?? 60_000 },
    retry: {
      limit: options.retryLimit ?? 8,
      methods: ALL_METHODS,
      statusCodes: RETRY_STATUS,
      errorCodes: RETRY_ERROR_CODES,
      maxRetryAfter: backoffLimit,
      calculateDelay: ({ attemptCount, computedValue }) =>
        computedValue === 0
          ? 0
          : Math.min(backoffLimit, 250 * 2 ** (attemptCount - 1)) + Math.floor(Math.random() * 100),
    },
  });
  let info: ServerInfo | undefined;
  const call = <T>(method: Method, path: string, extra: RequestExtra = {}) =>
    request<T>(http, host, method, path, extra);
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
    ingest: (id, body) =>
      call('POST', `${exp(id)}/ingest`, { body, headers: { 'content-type': BATCH_CONTENT_TYPE } }),
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

interface RequestExtra {
  json?: unknown;
  body?: Buffer;
  headers?: Record<string, string>;
  searchParams?: URLSearchParams | undefined;
}

async function request<T>(
  http: Got,
  host: string,
  method: Method,
  path: string,
  extra: RequestExtra,
): Promise<T> {
  let text: string;
  try {
    const response = await http(path, {
      method,
      ...(extra.json === undefined ? {} : { json: extra.json }),
      ...(extra.body === undefined ? {} : { body: extra.body }),
      ...(extra.headers === undefined ? {} : { headers: extra.headers }),
      ...(extra.searchParams === undefined ? {} : { searchParams: extra.searchParams }),
    });
    text = response.body as string;
  } catch (error) {
    throw toSwanlogError(error, host, `${method} ${API_PREFIX}/${path}`);
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

/** Maps a got failure to our error: the server's own code for 4xx, SERVER_UNREACHABLE for the network. */
export function toSwanlogError(error: unknown, host: string, what: string): Error {
  if (error instanceof HTTPError) {
    const status = error.response.statusCode;
    const body = parseErrorBody(error.response.body);
    if (body !== undefined && isErrorCode(body.code)) {
      return new SwanlogError(body.code, body.message ?? `${what} failed with ${status}`, {
        ...(body.hint === undefined ? {} : { hint: body.hint }),
        cause: causeOf(error),
      });
    }
    return new SwanlogError('SERVER_ERROR', `${host} answered ${what} with HTTP ${status}`, {
      hint: status === 404 ? 'check that --host names a swanlog server' : undefined,
      cause: causeOf(error),
    });
  }
  if (error instanceof RequestError) {
    return new SwanlogError(
      'SERVER_UNREACHABLE',
      `cannot reach the swanlog server at ${host} (${error.code}: ${error.message})`,
      {
        hint: 'check --host (or SWANLOG_HOST) and that the server runs; `swanlog sync` picks up where it stopped',
        cause: causeOf(error),
      },
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** got's error without its request options, which carry the API key in a header. */
function causeOf(error: RequestError): Error {
  const cause = new Error(`${error.name}: ${error.message}`) as Error & { code?: string };
  cause.code = error.code;
  return cause;
}

function parseErrorBody(body: unknown): { code?: unknown; message?: string; hint?: string } | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as { code?: unknown }) : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function normalizeHost(host: string): string {
  const trimmed = host.trim().replace(/\/+$/, '');
  return /^https?:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
}
