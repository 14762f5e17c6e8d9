import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { API_PREFIX, type ProjectList, SwanlogError } from '@swanlog/protocol';
import { CHUNK_CODEC_VERSIONS, type RunReader } from '@swanlog/store';
import { type Context, Hono } from 'hono';
import { type DashboardEvents, eventStreamResponse } from '../dashboard-events.js';
import type {
  DashboardExperimentList,
  DashboardServerInfo,
  MultiKeySeries,
  RunProblem,
} from '../dashboard-types.js';
import { handleErrors } from '../error-handling.js';
import { exportFormatOf, exportResponse, localSeriesPieces } from '../export-series.js';
import { metricNotFound } from '../metric-series.js';
import { metricKeyOf, metricQueryOf, multiKeyQueryOf, validateId } from '../route-params.js';
import { runsTableOf } from '../runs-table.js';
import { seriesResponse } from '../series-response.js';
import { serveUi } from '../static-ui.js';
import { eachLocalRun, openLocalRun } from './local-runs.js';
import { LOCAL_WORKSPACE, localDetails, localExperiment, localTableRow } from './local-views.js';

export interface CreateWatchAppOptions {
  logdir: string;
  version: string;
  /** Announcements of changes under the logdir (`GET /api/v1/events`). */
  events: DashboardEvents;
  /** The dashboard's static build (default: `apps/web/dist/public` of this repository). */
  webRoot?: string;
  log?: (message: string) => void;
  /**
   * The address it listens on. On a loopback address, requests must name a loopback host in their
   * Host header: a page on another site that rebinds its DNS name to 127.0.0.1 cannot read runs.
   */
  listenHost?: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The host name of a Host header (without the port); undefined when it is missing. */
function hostNameOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  return header.split(':')[0]?.toLowerCase();
}

/**
 * The read-only HTTP core of `swanlog watch`: the dashboard's API (docs/api.md "Dashboard") over
 * the run directories of one logdir. No auth (it listens on loopback); the one workspace is
 * `local`. Every request opens the run directories it needs read-only and closes them again.
 */
export function createWatchApp(options: CreateWatchAppOptions): Hono {
  const logdir = resolve(options.logdir);
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const app = new Hono();
  const api = new Hono();
  if (LOOPBACK.has(options.listenHost ?? '127.0.0.1')) {
    app.use('*', async (c, next) => {
      const name = hostNameOf(c.req.header('host'));
      if (name !== undefined && !LOOPBACK.has(name)) {
        return c.json(
          {
            code: 'FORBIDDEN',
            message: `swanlog watch answers only requests to a loopback host, not to ${name}`,
          },
          403,
        );
      }
      return next();
    });
  }
  const instanceId = createHash('sha256').update(logdir).digest('hex').slice(0, 26);

  const workspaceOf = (c: Context): void => {
    const ws = c.req.param('ws') ?? '';
    if (ws !== LOCAL_WORKSPACE) throw new SwanlogError('NOT_FOUND', `workspace ${ws} not found`);
  };
  const withRun = <T>(c: Context, read: (reader: RunReader) => T): T => {
    const id = validateId(c.req.param('id') ?? '');
    const reader = openLocalRun(logdir, id);
    if (reader === undefined) throw new SwanlogError('RUN_NOT_FOUND', `no run ${id} under ${logdir}`);
    try {
      return read(reader);
    } finally {
      reader.close();
    }
  };

  api.get('/server', (c) => {
    const info: DashboardServerInfo = {
      instanceId,
      version: options.version,
      publicUrl: null,
      workspace: LOCAL_WORKSPACE,
      scope: 'read',
      chunkEncodings: [...CHUNK_CODEC_VERSIONS],
      mode: 'watch',
      canEdit: false,
      csrfToken: null,
    };
    return c.json(info);
  });

  api.get('/workspaces/:ws/experiments', (c) => {
    workspaceOf(c);
    const project = c.req.query('project');
    const { results } = eachLocalRun(logdir, localExperiment);
    const list: DashboardExperimentList = {
      experiments:
        project === undefined || project === '' ? results : results.filter((e) => e.project === project),
    };
    return c.json(list);
  });

  api.get('/workspaces/:ws/runs-table', (c) => {
    workspaceOf(c);
    const project = c.req.query('project');
    const rows = eachLocalRun(logdir, localTableRow).results;
    return c.json(
      runsTableOf(project === undefined || project === '' ? rows : rows.filter((r) => r.project === project)),
    );
  });

  // The local dashboard changes nothing: tags, notes and archive live on a server.
  const readOnly = () => {
    throw new SwanlogError('READ_ONLY', 'swanlog watch shows local runs read-only', {
      hint: 'sync the runs to a swanlog server (`swanlog sync`) to tag, annotate, rename or archive them there',
    });
  };
  api.patch('/experiments/:id/meta', readOnly);
  api.delete('/experiments/:id', readOnly);

  api.get('/workspaces/:ws/projects', (c) => {
    workspaceOf(c);
    const counts = new Map<string, number>();
    for (const project of eachLocalRun(logdir, (r) => r.meta.project).results)
      counts.set(project, (counts.get(project) ?? 0) + 1);
    const list: ProjectList = {
      projects: [...counts]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, experiments]) => ({ name, experiments })),
    };
    return c.json(list);
  });

  api.get('/workspaces/:ws/problems', (c) => {
    workspaceOf(c);
    const problems: RunProblem[] = eachLocalRun(logdir, localExperiment).problems;
    return c.json(problems);
  });

  api.get('/experiments/:id', (c) => c.json(withRun(c, localExperiment)));

  api.get('/experiments/:id/details', (c) => c.json(withRun(c, localDetails)));

  // Several keys in one request, read from one open of the run directory.
  api.get('/experiments/:id/metrics', (c) => {
    const { keys, query } = multiKeyQueryOf(c.req.queries('key'), c.req.query());
    const answer: MultiKeySeries = withRun(c, (reader) => {
      const known = new Set(reader.keys());
      const missing = keys.find((k) => !known.has(k));
      if (missing !== undefined) throw metricNotFound(`run ${reader.meta.id}`, reader.meta.id, missing);
      return {
        series: keys.map((key) =>
          seriesResponse(reader.series(key, { superseded: query.superseded }), query),
        ),
      };
    });
    return c.json(answer);
  });

  api.get('/experiments/:id/metrics/*', (c) => {
    const key = metricKeyOf(c.req.raw.url);
    const query = metricQueryOf(c.req.query());
    return c.json(
      withRun(c, (reader) => {
        if (!reader.keys().includes(key)) throw metricNotFound(`run ${reader.meta.id}`, reader.meta.id, key);
        return seriesResponse(reader.series(key, { superseded: query.superseded }), query);
      }),
    );
  });

  api.get('/experiments/:id/export/*', (c) => {
    const key = metricKeyOf(c.req.raw.url, '/export/');
    const query = metricQueryOf(c.req.query());
    const format = exportFormatOf(c.req.query('format'));
    const { id, series } = withRun(c, (reader) => {
      if (!reader.keys().includes(key)) throw metricNotFound(`run ${reader.meta.id}`, reader.meta.id, key);
      return { id: reader.meta.id, series: reader.series(key) };
    });
    return exportResponse(localSeriesPieces(series, query), { id, key, format });
  });

  api.get('/events', (c) =>
    eventStreamResponse({
      subscribe: (listener) => options.events.subscribe(LOCAL_WORKSPACE, listener),
      signal: c.req.raw.signal,
    }),
  );

  app.route(API_PREFIX, api);
  serveUi(app, options.webRoot);
  handleErrors(app, log, 'swanlog watch');
  return app;
}
