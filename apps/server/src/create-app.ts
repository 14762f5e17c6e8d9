import type { IncomingMessage } from 'node:http';
import {
  API_PREFIX,
  BATCH_CONTENT_TYPE,
  type CreateExperimentResponse,
  type ErrorBody,
  type IngestResponse,
  MAX_BODY_BYTES,
  MAX_JSON_BYTES,
  type MetricSeries,
  type ProjectList,
  SwanlogError,
} from '@swanlog/protocol';
import {
  configRevisionsSchema,
  copyExperimentSchema,
  createExperimentSchema,
  experimentMetaSchema,
  sessionLoginSchema,
} from '@swanlog/protocol/schemas';
import { CHUNK_CODEC_VERSIONS } from '@swanlog/store';
import { type Context, Hono } from 'hono';
import {
  authenticate,
  authenticateMetaEdit,
  cookieOf,
  csrfTokenOf,
  generateSessionToken,
  type Principal,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  sha256Hex,
  stillAuthenticated,
  verifyApiKey,
} from './auth.js';
import { createDashboardEvents, type DashboardEvents, eventStreamResponse } from './dashboard-events.js';
import type {
  DashboardExperimentList,
  DashboardServerInfo,
  ExperimentMeta,
  MultiKeySeries,
} from './dashboard-types.js';
import { handleErrors } from './error-handling.js';
import { experimentDetails, experimentInfo, experimentListEntry, syncStatus } from './experiment-view.js';
import { exportFormatOf, exportResponse, storedSeriesPieces } from './export-series.js';
import { metricSeries } from './metric-series.js';
import { batchPrefixCheck, parseIngestBatchShared } from './parse-batch.js';
import { readBody, readJson, requireContentType } from './read-body.js';
import { metricKeyOf, metricQueryOf, multiKeyQueryOf, validateId } from './route-params.js';
import { createRunsTable } from './runs-table.js';
import { requireSameOrigin } from './same-origin.js';
import { serveUi } from './static-ui.js';
import type { ExperimentRecord, Storage } from './storage/storage.js';

export interface CreateAppOptions {
  storage: Storage;
  /** Base URL for links (--public-url); null/undefined when unknown. */
  publicUrl?: string | null;
  version: string;
  /** Where unexpected failures are reported (default: stderr). */
  log?: (message: string) => void;
  /** The dashboard's static build (default: `apps/web/dist/public` of this repository). */
  webRoot?: string;
  /**
   * Where the app announces writes to dashboards (`GET /api/v1/events`); a private bus when not
   * given. Servers sharing one database each only see their own writes.
   */
  events?: DashboardEvents;
}

/**
 * The HTTP core of the server (docs/api.md): a Hono app whose `fetch` is
 * `(Request) => Promise<Response>`, stateless over its storage.
 */
export function createApp(options: CreateAppOptions): Hono {
  const { storage, version } = options;
  const publicUrl = options.publicUrl ?? null;
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const events = options.events ?? createDashboardEvents();
  const app = new Hono();
  const api = new Hono();

  /** The experiment `id` in the principal's workspace, or RUN_NOT_FOUND (also for other workspaces). */
  const experimentOf = async (c: Context, who: Principal): Promise<ExperimentRecord> => {
    const id = validateId(c.req.param('id') ?? '');
    const record = await storage.getExperiment({ workspace: who.workspace, id });
    if (record === undefined) {
      if ((await storage.deletedAt({ workspace: who.workspace, id })) !== undefined) {
        throw new SwanlogError('EXPERIMENT_DELETED', `experiment ${id} was deleted on this server`, {
          hint: 'sync the run directory with --new to upload it into a new experiment',
        });
      }
      throw new SwanlogError('RUN_NOT_FOUND', `experiment ${id} not found`);
    }
    return record;
  };
  const runsTable = createRunsTable(storage);
  const workspaceOf = (c: Context, who: Principal): string => {
    const ws = c.req.param('ws') ?? '';
    if (ws !== who.workspace) throw new SwanlogError('NOT_FOUND', `workspace ${ws} not found`);
    return ws;
  };

  api.get('/server', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read', publicUrl);
    const info: DashboardServerInfo = {
      instanceId: await storage.instanceId(),
      version,
      publicUrl,
      workspace: who.workspace,
      scope: who.scope,
      chunkEncodings: [...CHUNK_CODEC_VERSIONS],
      mode: 'server',
      ...editRights(c.req.raw, who),
    };
    return c.json(info);
  });

  api.post('/experiments', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'write', publicUrl);
    const body = await readJson(c.req.raw, createExperimentSchema, MAX_JSON_BYTES);
    const result = await storage.createExperiment(who.workspace, {
      requestKey: body.requestKey,
      requestedId: body.requestedId,
      exactId: body.exactId,
      project: body.project,
      name: body.name ?? null,
      createdAt: body.createdAt ?? Date.now(),
      copiedFrom: body.copiedFrom ?? null,
      source: body.source ?? null,
    });
    if (result.created) events.emit(who.workspace, { type: 'runs' });
    return c.json(await createdAnswer(storage, result), result.created ? 201 : 200);
  });

  api.get('/experiments/:id', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read', publicUrl);
    return c.json(await experimentInfo(storage, await experimentOf(c, who), Date.now()));
  });

  api.get('/experiments/:id/sync', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read', publicUrl);
    return c.json(await syncStatus(storage, await experimentOf(c, who), Date.now()));
  });

  // Several keys in one request (the run page's first screen): the same answer per key, in order.
  api.get('/experiments/:id/metrics', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read', publicUrl);
    const record = await experimentOf(c, who);
    const { keys, query } = multiKeyQueryOf(c.req.queries('key'), c.req.query());
    const ref = { workspace: record.workspace, id: record.id };
    const series: MetricSeries[] = [];
    for (const key of keys) series.push(await metricSeries(storage, ref, key, query));
    const answer: MultiKeySeries = { series };
    return c.json(answer);
  });

  api.get('/experiments/:id/metrics/*', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read', publicUrl);
    const record = await experimentOf(c, who);
    const key = metricKeyOf(c.req.raw.url);
    const query = metricQueryOf(c.req.query());
    return c.json(await metricSeries(storage, { workspace: record.workspace, id: record.id }, key, query));
  });

  // Full resolution, streamed: the metrics route caps maxPoints, a download does not.
  api.get('/experiments/:id/export/*', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read', publicUrl);
    const record = await experimentOf(c, who);
    const key = metricKeyOf(c.req.raw.url, '/export/');
    const query = metricQueryOf(c.req.query());
    const format = exportFormatOf(c.req.query('format'));
    const ref = { workspace: record.workspace, id: record.id };
    return exportResponse(storedSeriesPieces(storage, ref, key, query), { id: record.id, key, format });
  });

  api.get('/experiments/:id/details', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read', publicUrl);
    return c.json(await experimentDetails(storage, await experimentOf(c, who), Date.now()));
  });

  api.get('/events', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read', publicUrl);
    return eventStreamResponse({
      subscribe: (listener) => events.subscribe(who.workspace, listener),
      signal: c.req.raw.signal,
      // A key revoked elsewhere (the CLI on the same database) or a session signed out ends the stream.
      authorized: () => stillAuthenticated(storage, c.req.raw, who, publicUrl),
      onError: (error) => log(`swanlog server: checking an event stream's key failed: ${String(error)}`),
    });
  });

  api.post('/experiments/:id/ingest', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'write', publicUrl);
    const record = await experimentOf(c, who);
    requireContentType(c.req.raw, BATCH_CONTENT_TYPE);
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const sources = await parseIngestBatchShared(
      await readBody(c.req.raw, MAX_BODY_BYTES, { prefix: batchPrefixCheck, incoming, shared: true }),
    );
    const ref = { workspace: record.workspace, id: record.id };
    const before = new Map((await storage.sources(ref)).map((s) => [s.source, s.session.endState]));
    const result = await storage.ingest(ref, sources);
    if (result.status === 'conflict') {
      const body: ErrorBody = {
        code: 'CONFLICT',
        message: `experiment ${record.id}: the batch does not start at the server's watermark`,
        hint: 'upload again from the watermarks given',
        watermarks: result.watermarks,
      };
      return c.json(body, 409);
    }
    if (result.stored > 0 || sources.some((s) => s.rewinds.length > 0))
      events.emit(record.workspace, { type: 'points', id: record.id });
    // A new session or a session's end changes the run's state in the list.
    if (sources.some((s) => !before.has(s.source) || before.get(s.source) !== s.session.endState))
      events.emit(record.workspace, { type: 'runs' });
    const answer: IngestResponse = { watermarks: result.watermarks, stored: result.stored };
    return c.json(answer);
  });

  api.post('/experiments/:id/config', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'write', publicUrl);
    const record = await experimentOf(c, who);
    const body = await readJson(c.req.raw, configRevisionsSchema, MAX_JSON_BYTES);
    const added = await storage.addConfigRevisions(
      { workspace: record.workspace, id: record.id },
      body.revisions,
    );
    if (added > 0) events.emit(record.workspace, { type: 'runs' });
    const status = await syncStatus(storage, record, Date.now());
    return c.json({ added, config: status.config, configRevisions: status.configRevisions });
  });

  api.post('/experiments/:id/copy', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'write', publicUrl);
    const record = await experimentOf(c, who);
    const body = await readJson(c.req.raw, copyExperimentSchema, MAX_JSON_BYTES);
    const result = await storage.copyExperiment(
      { workspace: record.workspace, id: record.id },
      { requestKey: body.requestKey, requestedId: body.requestedId, now: Date.now() },
    );
    if (result.created) events.emit(who.workspace, { type: 'runs' });
    return c.json(await createdAnswer(storage, result), result.created ? 201 : 200);
  });

  api.patch('/experiments/:id/meta', async (c) => {
    const who = await authenticateMetaEdit(storage, c.req.raw, publicUrl);
    const record = await experimentOf(c, who);
    const body = await readJson(c.req.raw, experimentMetaSchema, MAX_JSON_BYTES);
    const next = await storage.updateExperimentMeta({ workspace: record.workspace, id: record.id }, body);
    events.emit(record.workspace, { type: 'runs' });
    const answer: ExperimentMeta = {
      id: next.id,
      name: next.name,
      tags: next.tags,
      note: next.note,
      archived: next.archived,
    };
    return c.json(answer);
  });

  // A real delete: Bearer write keys only (the dashboard's session never deletes).
  api.delete('/experiments/:id', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'write', publicUrl);
    const record = await experimentOf(c, who);
    await storage.deleteExperiment({ workspace: record.workspace, id: record.id }, Date.now());
    events.emit(record.workspace, { type: 'runs' });
    return c.json({ id: record.id, deleted: true });
  });

  api.get('/workspaces/:ws/runs-table', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read', publicUrl);
    const ws = workspaceOf(c, who);
    const project = c.req.query('project');
    return c.json(await runsTable(ws, project === undefined || project === '' ? undefined : project));
  });

  api.get('/workspaces/:ws/projects', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read', publicUrl);
    const list: ProjectList = { projects: await storage.listProjects(workspaceOf(c, who)) };
    return c.json(list);
  });

  api.get('/workspaces/:ws/experiments', async (c) => {
    const who = await authenticate(storage, c.req.raw, 'read', publicUrl);
    const ws = workspaceOf(c, who);
    const project = c.req.query('project');
    const now = Date.now();
    const records = await storage.listExperiments(
      ws,
      project === undefined || project === '' ? undefined : project,
    );
    const list: DashboardExperimentList = { experiments: [] };
    for (const r of records)
      list.experiments.push({
        ...(await experimentListEntry(storage, r, now)),
        tags: r.tags,
        note: r.note,
        archived: r.archived,
      });
    return c.json(list);
  });

  // Secure when the dashboard is reached over https (behind a TLS proxy the public URL says so).
  const cookieAttributes = `HttpOnly; SameSite=Strict; Path=/${publicUrl?.toLowerCase().startsWith('https:') ? '; Secure' : ''}`;

  api.post('/session', async (c) => {
    requireSameOrigin(c.req.raw, publicUrl);
    const body = await readJson(c.req.raw, sessionLoginSchema, MAX_JSON_BYTES);
    const who = await verifyApiKey(storage, body.apiKey);
    if (who === undefined) throw new SwanlogError('UNAUTHORIZED', 'unknown or revoked API key');
    const token = generateSessionToken();
    await storage.addDashboardSession(sha256Hex(token), who.keyId, Date.now() + SESSION_TTL_MS);
    const maxAge = Math.floor(SESSION_TTL_MS / 1000);
    c.header('Set-Cookie', `${SESSION_COOKIE}=${token}; ${cookieAttributes}; Max-Age=${maxAge}`);
    return c.body(null, 204);
  });

  api.delete('/session', async (c) => {
    requireSameOrigin(c.req.raw, publicUrl);
    const token = cookieOf(c.req.raw, SESSION_COOKIE);
    if (token !== undefined) await storage.deleteDashboardSession(sha256Hex(token));
    c.header('Set-Cookie', `${SESSION_COOKIE}=; ${cookieAttributes}; Max-Age=0`);
    return c.body(null, 204);
  });

  app.route(API_PREFIX, api);
  serveUi(app, options.webRoot);
  handleErrors(app, log, 'swanlog server');
  return app;
}

/**
 * Whether the caller may change team metadata, and the CSRF token a dashboard session sends with
 * such a change (none for Bearer keys, which no other site can send).
 */
function editRights(request: Request, who: Principal): { canEdit: boolean; csrfToken: string | null } {
  const canEdit = who.scope === 'write';
  if (request.headers.get('authorization') !== null) return { canEdit, csrfToken: null };
  const token = cookieOf(request, SESSION_COOKIE);
  return { canEdit, csrfToken: canEdit && token !== undefined ? csrfTokenOf(token) : null };
}

/** The answer of a create or a copy: the experiment as the read API shows it, and whether it is new. */
async function createdAnswer(
  storage: Storage,
  result: { experiment: ExperimentRecord; created: boolean },
): Promise<CreateExperimentResponse> {
  return {
    experiment: await experimentInfo(storage, result.experiment, Date.now()),
    created: result.created,
  };
}
