import {
  API_PREFIX,
  BATCH_CONTENT_TYPE,
  type CreateExperimentResponse,
  type ErrorBody,
  type ExperimentList,
  httpStatusOf,
  type IngestResponse,
  isSwanlogError,
  MAX_BODY_BYTES,
  MAX_JSON_BYTES,
  type ProjectList,
  type ServerInfo,
  SwanlogError,
} from '@swanlog/protocol';
import {
  configRevisionsSchema,
  copyExperimentSchema,
  createExperimentSchema,
  keyNameSchema,
  metricsQuerySchema,
  runIdSchema,
  sessionLoginSchema,
} from '@swanlog/protocol/schemas';
import { type Context, Hono } from 'hono';
import {
  authenticate,
  cookieOf,
  generateSessionToken,
  type Principal,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  sha256Hex,
  verifyApiKey,
} from './auth.js';
import { experimentInfo, syncStatus } from './experiment-view.js';
import { metricSeries } from './metric-series.js';
import { parseIngestBatch } from './parse-batch.js';
import { readBody, readJson, requireContentType, validate } from './read-body.js';
import type { ExperimentRecord, Storage } from './storage/storage.js';

export interface CreateAppOptions {
  storage: Storage;
  /** Base URL for links (--public-url); null/undefined when unknown. */
  publicUrl?: string | null;
  version: string;
  /** Where unexpected failures are reported (default: stderr). */
  log?: (message: string) => void;
}

/**
 * The HTTP core of the server (docs/api.md): a Hono app whose `fetch` is
 * `(Request) => Promise<Response>`, stateless over its storage.
 */
export function createApp(options: CreateAppOptions): Hono {
  const { storage, version } = options;
  const publicUrl = options.publicUrl ?? null;
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const app = new Hono();
  const api = new Hono();

  /** The experiment `id` in the principal's workspace, or RUN_NOT_FOUND (also for other workspaces). */
  const experimentOf = async (c: Context, who: Principal): Promise<ExperimentRecord> => {
    const id = validateId(c.req.param('id') ?? '');
    const record = await storage.getExperiment({ workspace: who.workspace, id });
    if (record === undefined) throw new SwanlogError('RUN_NOT_FOUND', `experiment ${id} not found`);
    return record;
  };
  const workspaceOf = (c: Context, who: Principal): string => {
    const ws = c.req.param('ws') ?? '';
    if (ws !== who.workspace) throw new SwanlogError('NOT_FOUND', `workspace ${ws} not found`);
    return ws;
  };

  api.get('/server', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read');
    const info: ServerInfo = {
      instanceId: await storage.instanceId(),
      version,
      publicUrl,
      workspace: who.workspace,
      scope: who.scope,
    };
    return c.json(info);
  });

  api.post('/experiments', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'write');
    const body = await readJson(c.req.raw, createExperimentSchema, MAX_JSON_BYTES);
    const result = await storage.createExperiment(who.workspace, {
      requestKey: body.requestKey,
      requestedId: body.requestedId,
      exactId: body.exactId,
      project: body.project,
      name: body.name ?? null,
      createdAt: body.createdAt ?? Date.now(),
      copiedFrom: body.copiedFrom ?? null,
    });
    const answer: CreateExperimentResponse = {
      experiment: await experimentInfo(storage, result.experiment, Date.now()),
      created: result.created,
    };
    return c.json(answer, result.created ? 201 : 200);
  });

  api.get('/experiments/:id', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read');
    return c.json(await experimentInfo(storage, await experimentOf(c, who), Date.now()));
  });

  api.get('/experiments/:id/sync', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read');
    return c.json(await syncStatus(storage, await experimentOf(c, who), Date.now()));
  });

  api.get('/experiments/:id/metrics/*', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read');
    const record = await experimentOf(c, who);
    const key = metricKeyOf(c.req.raw.url);
    const query = validate(metricsQuerySchema, c.req.query(), 'query');
    if (query.from !== undefined && query.to !== undefined && query.from > query.to)
      throw new SwanlogError('BAD_REQUEST', `from (${query.from}) is above to (${query.to})`);
    const series = await metricSeries(storage, { workspace: record.workspace, id: record.id }, key, {
      maxPoints: query.maxPoints,
      from: query.from,
      to: query.to,
      superseded: query.superseded === '1' || query.superseded === 'true',
    });
    return c.json(series);
  });

  api.post('/experiments/:id/ingest', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'write');
    const record = await experimentOf(c, who);
    requireContentType(c.req.raw, BATCH_CONTENT_TYPE);
    const sources = parseIngestBatch(await readBody(c.req.raw, MAX_BODY_BYTES));
    const result = await storage.ingest({ workspace: record.workspace, id: record.id }, sources);
    if (result.status === 'conflict') {
      const body: ErrorBody = {
        code: 'CONFLICT',
        message: `experiment ${record.id}: the batch does not start at the server's watermark`,
        hint: 'upload again from the watermarks given',
        watermarks: result.watermarks,
      };
      return c.json(body, 409);
    }
    const answer: IngestResponse = { watermarks: result.watermarks, stored: result.stored };
    return c.json(answer);
  });

  api.post('/experiments/:id/config', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'write');
    const record = await experimentOf(c, who);
    const body = await readJson(c.req.raw, configRevisionsSchema, MAX_JSON_BYTES);
    const added = await storage.addConfigRevisions(
      { workspace: record.workspace, id: record.id },
      body.revisions,
    );
    const status = await syncStatus(storage, record, Date.now());
    return c.json({ added, config: status.config, configRevisions: status.configRevisions });
  });

  api.post('/experiments/:id/copy', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'write');
    const record = await experimentOf(c, who);
    const body = await readJson(c.req.raw, copyExperimentSchema, MAX_JSON_BYTES);
    const result = await storage.copyExperiment(
      { workspace: record.workspace, id: record.id },
      { requestKey: body.requestKey, requestedId: body.requestedId, now: Date.now() },
    );
    const answer: CreateExperimentResponse = {
      experiment: await experimentInfo(storage, result.experiment, Date.now()),
      created: result.created,
    };
    return c.json(answer, result.created ? 201 : 200);
  });

  api.get('/workspaces/:ws/projects', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read');
    const list: ProjectList = { projects: await storage.listProjects(workspaceOf(c, who)) };
    return c.json(list);
  });

  api.get('/workspaces/:ws/experiments', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read');
    const ws = workspaceOf(c, who);
    const project = c.req.query('project');
    const now = Date.now();
    const records = await storage.listExperiments(
      ws,
      project === undefined || project === '' ? undefined : project,
    );
    const list: ExperimentList = { experiments: [] };
    for (const r of records) list.experiments.push(await experimentInfo(storage, r, now));
    return c.json(list);
  });

  api.post('/session', async (c) => {
    const body = await readJson(c.req.raw, sessionLoginSchema, MAX_JSON_BYTES);
    const who = await verifyApiKey(storage, body.apiKey);
    if (who === undefined) throw new SwanlogError('UNAUTHORIZED', 'unknown or revoked API key');
    const token = generateSessionToken();
    await storage.addDashboardSession(sha256Hex(token), who.keyId, Date.now() + SESSION_TTL_MS);
    const maxAge = Math.floor(SESSION_TTL_MS / 1000);
    c.header(
      'Set-Cookie',
      `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}`,
    );
    return c.body(null, 204);
  });

  api.delete('/session', async (c) => {
    const token = cookieOf(c.req.raw, SESSION_COOKIE);
    if (token !== undefined) await storage.deleteDashboardSession(sha256Hex(token));
    c.header('Set-Cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
    return c.body(null, 204);
  });

  app.route(API_PREFIX, api);
  app.notFound((c) =>
    c.json(errorBody(new SwanlogError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`)), 404),
  );
  app.onError((error, c) => {
    if (isSwanlogError(error) && httpStatusOf(error.code) !== 500) {
      return c.json(errorBody(error), httpStatusOf(error.code) as 400);
    }
    log(`swanlog server: ${c.req.method} ${c.req.path} failed: ${(error as Error)?.stack ?? String(error)}`);
    return c.json({ code: 'SERVER_ERROR', message: 'internal server error' } satisfies ErrorBody, 500);
  });
  return app;
}

function errorBody(error: SwanlogError): ErrorBody {
  return error.toJSON();
}

function validateId(id: string): string {
  const result = runIdSchema.safeParse(id);
  if (!result.success) {
    throw new SwanlogError('INVALID_RUN_ID', `${JSON.stringify(id)} is not a valid experiment id`, {
      hint: 'an id is 1-64 characters of letters, digits, "_" and "-"',
    });
  }
  return result.data;
}

/** The metric key of a metrics URL, percent-decoded from the raw path (keys may contain `/`). */
function metricKeyOf(url: string): string {
  const path = new URL(url).pathname;
  const at = path.indexOf('/metrics/');
  const raw = path.slice(at + '/metrics/'.length);
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch (error) {
    throw new SwanlogError('BAD_REQUEST', `metric key ${JSON.stringify(raw)} is not valid percent-encoding`, {
      cause: error,
    });
  }
  return validate(keyNameSchema, key, 'metric key');
}
