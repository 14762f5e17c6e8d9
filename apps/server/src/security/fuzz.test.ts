import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BATCH_CONTENT_TYPE, encodeBatch } from '@swanlog/protocol';
import { encodeChunk } from '@swanlog/store';
import fc from 'fast-check';
import { createApp } from '../create-app.js';
import { SERVER_VERSION } from '../start-server.js';
import { openSqliteStorage } from '../storage/sqlite-storage.js';
import { fillPath, type RouteEntry, routesOf } from '../test-support/routes.js';
import { batch, points, session, startTestServer, type TestServer } from '../test-support/server.js';

/** A run of the property: how many requests, and how long one may take before it counts as hung. */
const RUNS = Number(process.env.SWANLOG_FUZZ_RUNS ?? 1000);
const REQUEST_TIMEOUT_MS = 5000;
const SEED = Number(process.env.SWANLOG_FUZZ_SEED ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0);

let t: TestServer;
let id: string;
let cookie: string;
let routes: RouteEntry[];

before(async () => {
  t = await startTestServer();
  const created = await t.request('/api/v1/experiments', {
    method: 'POST',
    json: { requestKey: 'fuzz', project: 'p' },
  });
  id = created.body.experiment.id;
  const ok = await t.request(`/api/v1/experiments/${id}/ingest`, {
    method: 'POST',
    body: batch([
      {
        source: 'seed',
        fromSeq: -1,
        toSeq: 2,
        chunks: [
          {
            key: 'loss',
            points: points([
              [0, 1, 1],
              [1, 2, 2],
            ]),
          },
        ],
      },
    ]),
    headers: { 'content-type': BATCH_CONTENT_TYPE },
  });
  assert.equal(ok.status, 200);
  const login = await fetch(`${t.server.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey: t.readKey }),
  });
  cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const storage = openSqliteStorage({ dataDir: t.dataDir });
  try {
    routes = routesOf(createApp({ storage, version: SERVER_VERSION }));
  } finally {
    storage.close();
  }
});

after(async () => {
  await t.close();
});

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | string | undefined;
  /** What the generator did, for the failure report. */
  label: string;
}

// --- pieces -------------------------------------------------------------------------------

const idLike = () =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(id) },
    fc.constant('missing-experiment'),
    fc.string({ maxLength: 80 }),
    fc.stringMatching(/^[A-Za-z0-9_-]{0,70}$/),
    fc.constantFrom(
      '%',
      '%zz',
      '%00',
      '..',
      '%2e%2e',
      'a%2fb',
      "x' OR 1=1 --",
      '\u00e9',
      'ws',
      'other',
      'local',
    ),
  );

const metricKey = () =>
  fc.oneof(
    fc.constantFrom('loss', 'train/loss', '%E0%A4%A', '%', 'a%2Fb', '..%2f..', '%ff%fe', 'x'.repeat(300)),
    fc.string({ maxLength: 60 }).map(encodeURIComponent),
    fc.string({ maxLength: 30 }),
  );

const query = () =>
  fc.oneof(
    fc.constant(''),
    fc
      .record(
        {
          maxPoints: fc.oneof(fc.integer(), fc.constantFrom('NaN', '1e309', '-1', '0x10', '')),
          from: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })),
          to: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })),
          superseded: fc.constantFrom('0', '1', 'true', 'yes', ''),
          project: fc.string({ maxLength: 10 }),
        },
        { requiredKeys: [] },
      )
      .map(
        (q) => `?${new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, String(v)]))}`,
      ),
    fc.string({ maxLength: 40 }).map((s) => `?${s.replace(/#/g, '')}`),
  );

/** Valid JSON examples per route, the seeds of the mutations. */
const EXAMPLES: Record<string, unknown> = {
  'POST /api/v1/experiments': { requestKey: 'k', project: 'p', name: 'n', requestedId: 'abc', createdAt: 1 },
  'POST /api/v1/experiments/:id/config': {
    revisions: [{ ts: 1, source: null, patch: { lr: 0.1, opt: { b: [1] } } }],
  },
  'POST /api/v1/experiments/:id/copy': { requestKey: 'c', requestedId: 'copy1' },
  'POST /api/v1/session': { apiKey: 'swl_x' },
};

/** Replaces one value somewhere in `value` (path chosen by `pick`) with `replacement`. */
function mutateJson(value: unknown, pick: number, replacement: unknown): unknown {
  if (value === null || typeof value !== 'object') return replacement;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0 || pick % 5 === 0) return replacement;
  const [k] = entries[pick % entries.length]!;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...value };
  (copy as Record<string, unknown>)[k] = mutateJson(
    (value as Record<string, unknown>)[k],
    Math.floor(pick / 7),
    replacement,
  );
  return copy;
}

const jsonBody = (label: string) =>
  fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc
      .tuple(
        fc.nat(),
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(1e308, -1, 2 ** 53, '', 'x'.repeat(5000))),
      )
      .map(([pick, repl]) => JSON.stringify(mutateJson(EXAMPLES[label] ?? {}, pick, repl))),
    fc.constant(JSON.stringify(EXAMPLES[label] ?? {})),
    fc.string({ maxLength: 100 }),
    fc.nat({ max: 3000 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`),
  );

/** A valid batch of random points for the seeded experiment, as header + blobs. */
const validBatchParts = () =>
  fc
    .record({
      source: fc.constantFrom('fz1', 'fz2', 'seed'),
      fromSeq: fc.integer({ min: -1, max: 5 }),
      count: fc.integer({ min: 0, max: 40 }),
      key: fc.constantFrom('loss', 'acc', 'a/b'),
      values: fc.array(fc.double(), { minLength: 40, maxLength: 40 }),
    })
    .map(({ source, fromSeq, count, key, values }) => {
      const rows = Array.from(
        { length: count },
        (_, i) => [i, values[i]!, fromSeq + 1 + i] as [number, number, number],
      );
      const chunk = encodeChunk(points(rows));
      const header = {
        sources: [
          {
            source,
            fromSeq,
            toSeq: fromSeq + count,
            session: session(),
            rewinds: [],
            chunks: count === 0 ? [] : [{ key, n: count, bytes: chunk.length }],
          },
        ],
      };
      return { header, blobs: count === 0 ? [] : [chunk] };
    });

const batchBody = () =>
  fc.oneof(
    validBatchParts().map((p) => encodeBatch(p.header as never, p.blobs)),
    // bit flips anywhere
    fc.tuple(validBatchParts(), fc.array(fc.nat(), { minLength: 1, maxLength: 8 })).map(([p, flips]) => {
      const out = Buffer.from(encodeBatch(p.header as never, p.blobs));
      for (const f of flips) out[f % out.length] = out[f % out.length]! ^ (1 << (f % 8));
      return out;
    }),
    // truncation
    fc.tuple(validBatchParts(), fc.nat()).map(([p, cut]) => {
      const full = encodeBatch(p.header as never, p.blobs);
      return full.subarray(0, cut % (full.length + 1));
    }),
    // a lying header length
    fc
      .tuple(validBatchParts(), fc.oneof(fc.nat(), fc.constant(0xffffffff), fc.constant(0)))
      .map(([p, len]) => {
        const out = Buffer.from(encodeBatch(p.header as never, p.blobs));
        out.writeUInt32LE(len >>> 0, 4);
        return out;
      }),
    // header fields replaced: wrong lengths, huge counts, odd seqs
    fc
      .tuple(
        validBatchParts(),
        fc.constantFrom('n', 'bytes', 'fromSeq', 'toSeq', 'key', 'source', 'sources'),
        fc.oneof(
          fc.constantFrom(2 ** 31, 2 ** 32 + 1, 2 ** 53, 1e308, -1, -(2 ** 40), 0.5, Number.NaN, '', null),
          fc.integer(),
          fc.string({ maxLength: 8 }),
        ),
      )
      .map(([p, field, value]) => {
        const header = structuredClone(p.header) as { sources: Record<string, unknown>[] };
        const src = header.sources[0]!;
        const chunk = (src.chunks as Record<string, unknown>[])[0];
        if (field === 'n' || field === 'bytes' || field === 'key') {
          if (chunk !== undefined) chunk[field] = value;
          else src.chunks = [{ key: 'loss', n: value, bytes: value }];
        } else if (field === 'sources') header.sources = Array.from({ length: 1001 }, () => src);
        else src[field] = value;
        return encodeBatch(header as never, p.blobs);
      }),
    // trailing garbage and plain junk
    fc
      .tuple(validBatchParts(), fc.uint8Array({ minLength: 1, maxLength: 64 }))
      .map(([p, extra]) => Buffer.concat([encodeBatch(p.header as never, p.blobs), extra])),
    fc.uint8Array({ maxLength: 512 }),
  );

const headersArb = () =>
  fc.record({
    auth: fc.oneof(
      { weight: 8, arbitrary: fc.constant('write') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('read', 'other', 'none', 'garbage', 'cookie', 'cookie-cross-site'),
      },
    ),
    contentType: fc.oneof(
      { weight: 6, arbitrary: fc.constant('match') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'json',
          'batch',
          'none',
          'text/plain',
          'application/json; charset=utf-8',
          'APPLICATION/JSON',
        ),
      },
    ),
    extra: fc.dictionary(
      fc.constantFrom(
        'accept',
        'x-forwarded-for',
        'origin',
        'range',
        'if-none-match',
        'accept-encoding',
        'cookie',
      ),
      fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      { maxKeys: 3 },
    ),
  });

const requestArb = (): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      // Writes carry the bodies worth mutating: they come up twice as often.
      route: fc.constantFrom(...routes, ...routes.filter((r) => r.method === 'POST')),
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') },
      ),
      id: idLike(),
      ws: idLike(),
      key: metricKey(),
      query: query(),
      headers: headersArb(),
      json: fc.constant(null),
      // One request in ten sends the other kind of body (a batch to a JSON route and vice versa).
      rawBatch: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    })
    .chain((r) => {
      const label = `${r.route.method} ${r.route.path}`;
      const body = r.route.path.endsWith('/ingest') !== r.rawBatch ? batchBody() : jsonBody(label);
      return body.map((b) => ({ ...r, body: b, label }));
    })
    .map((r) => {
      const method = r.method === '' ? r.route.method : r.method;
      const headers: Record<string, string> = { ...r.headers.extra };
      const auth = r.headers.auth;
      if (auth === 'write') headers.authorization = `Bearer ${t.writeKey}`;
      else if (auth === 'read') headers.authorization = `Bearer ${t.readKey}`;
      else if (auth === 'other') headers.authorization = `Bearer ${t.otherKey}`;
      else if (auth === 'garbage') headers.authorization = 'Bearer swl_' + 'x'.repeat(40);
      else if (auth === 'cookie') headers.cookie = cookie;
      else if (auth === 'cookie-cross-site')
        Object.assign(headers, { cookie, origin: 'https://evil.example' });
      const ingest = r.route.path.endsWith('/ingest');
      const ct = r.headers.contentType === 'match' ? (ingest ? 'batch' : 'json') : r.headers.contentType;
      if (ct === 'json') headers['content-type'] = 'application/json';
      else if (ct === 'batch') headers['content-type'] = BATCH_CONTENT_TYPE;
      else if (ct !== 'none') headers['content-type'] = ct;
      const routePath = r.route.path === '/*' ? `/${r.key}` : r.route.path;
      let path: string;
      try {
        path = fillPath(routePath, { id: r.id, ws: r.ws }, r.key) + r.query;
      } catch (error) {
        path = `/api/v1/${encodeURIComponent(String(error))}`;
      }
      return {
        method,
        path: path.replace(/#/g, '%23'),
        headers,
        body: method === 'GET' || method === 'HEAD' ? undefined : r.body,
        label: `${method} ${path.slice(0, 200)} (${r.label}, auth ${auth}, type ${ct})`,
      };
    });

/** Sends one request with a deadline; reads the body (except of an event stream) to the end. */
async function send(req: FuzzRequest): Promise<number> {
  const res = await fetch(`${t.server.url}${req.path}`, {
    method: req.method,
    headers: req.headers,
    body: req.body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) await res.body?.cancel();
  else await res.arrayBuffer();
  return res.status;
}

test(`fuzz: ${RUNS} random and mutated requests, never a 500 or a hung request`, async () => {
  console.log(`fuzz seed ${SEED} (replay: SWANLOG_FUZZ_SEED=${SEED})`);
  const statuses = new Map<number, number>();
  let ran = 0;
  try {
    await fc.assert(
      fc.asyncProperty(requestArb(), async (req) => {
        let status: number;
        try {
          status = await send(req);
        } catch (error) {
          throw new Error(`${req.label}: no answer (${(error as Error).name}: ${(error as Error).message})`);
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        ran++;
        if (status >= 500) throw new Error(`${req.label}: answered ${status}`);
        const health = await fetch(`${t.server.url}/api/v1/server`, {
          headers: { authorization: `Bearer ${t.readKey}` },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        await health.arrayBuffer();
        if (health.status !== 200)
          throw new Error(`after ${req.label}: health check answered ${health.status}`);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true, interruptAfterTimeLimit: 50_000 },
    );
  } catch (error) {
    console.log(`fuzz failed with seed ${SEED}; replay with SWANLOG_FUZZ_SEED=${SEED}`);
    throw error;
  }
  console.log(
    `fuzz: ${ran} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
  );
  assert.ok(ran >= Math.min(RUNS, 200), `only ${ran} requests ran`);
  assert.deepEqual(
    t.logged.filter((m) => m.includes('failed')),
    [],
    'no request was logged as an unexpected failure',
  );
});
