import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, test } from 'node:test';
import {
  BATCH_CONTENT_TYPE,
  MAX_BATCH_HEADER_BYTES,
  MAX_BATCH_HEADER_DEPTH,
  MAX_BATCH_HEADER_VALUES,
  MAX_BODY_BYTES,
} from '@swanlog/protocol';
import { rawRequest } from '../test-support/raw-http.js';
import { batch, batchHeaders, points, startTestServer, type TestServer } from '../test-support/server.js';

// Regression: a hostile ingest batch header (31 MiB of `[[[…`) was parsed whole, taking 7 s and
// 2 GB while every other request waited; and a batch of many one-point chunks of one key was
// merged into the stored chunk by a decode and re-encode per chunk (100,000 chunks: 12 s).

let t: TestServer;
let id: string;
before(async () => {
  t = await startTestServer();
  const res = await t.request('/api/v1/experiments', {
    method: 'POST',
    json: { requestKey: 'hostile', project: 'p' },
  });
  id = res.body.experiment.id;
});
after(async () => {
  await t.close();
});

/** A batch body: the magic, a declared header length, then `header` and `rest`. */
function framed(declared: number, header: Buffer, rest: Buffer = Buffer.alloc(0)): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.write('SWB1', 0, 'latin1');
  prefix.writeUInt32LE(declared, 4);
  return Buffer.concat([prefix, header, rest]);
}

/** A 32 MiB body whose header is as `header` says, padded with the same filler. */
function hostileBody(kind: 'whole' | 'deep' | 'wide'): Buffer {
  const size = MAX_BODY_BYTES - 8;
  if (kind === 'whole') return framed(size, Buffer.alloc(size, '['));
  const header =
    kind === 'deep'
      ? Buffer.alloc(MAX_BATCH_HEADER_BYTES, '[')
      : Buffer.from(
          `[${'{},'.repeat(Math.floor(MAX_BATCH_HEADER_BYTES / 3) - 1)}{}]`.padEnd(MAX_BATCH_HEADER_BYTES),
        );
  return framed(header.length, header, Buffer.alloc(size - header.length, '['));
}

/** POSTs `body` with its Content-Length; resolves with the status and the time to the answer. */
function post(body: Buffer): Promise<{ status: number; ms: number }> {
  const { hostname, port } = new URL(t.server.url);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest({
      host: hostname,
      port: Number(port),
      method: 'POST',
      path: `/api/v1/experiments/${id}/ingest`,
      headers: {
        authorization: `Bearer ${t.writeKey}`,
        'content-type': BATCH_CONTENT_TYPE,
        'content-length': String(body.length),
      },
    });
    req.on('response', (res) => {
      answered = true;
      res.resume();
      req.destroy();
      resolve({ status: res.statusCode ?? 0, ms: performance.now() - started });
    });
    req.on('error', (error) => {
      // The server may close the socket once it has answered; only an error before that counts.
      if (!answered) reject(error);
    });
    req.end(body);
  });
}

test('three hostile 32 MiB batches at once: each refused within 3 s, GET /server answers within 1 s meanwhile', async () => {
  const bodies = [hostileBody('whole'), hostileBody('deep'), hostileBody('wide')];
  let polling = true;
  const pings: number[] = [];
  const poll = (async () => {
    while (polling) {
      const started = performance.now();
      // A fresh connection each time (rawRequest), so a slow answer is the server's, not a socket's.
      const res = await rawRequest(t.server.url, 'GET', '/api/v1/server', 10_000);
      pings.push(performance.now() - started);
      assert.equal(res.status, 401, 'the health check is answered');
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const answers = await Promise.all(bodies.map((b) => post(b)));
  polling = false;
  await poll;
  console.log(
    `refused after ${answers.map((a) => Math.round(a.ms)).join(', ')} ms; slowest of ${pings.length} health checks ${Math.round(Math.max(...pings))} ms`,
  );
  for (const a of answers) assert.ok(a.ms < 3000, `refused after ${Math.round(a.ms)} ms`);
  assert.ok(pings.length >= 1);
  assert.ok(Math.max(...pings) < 1000, `GET /api/v1/server took ${Math.round(Math.max(...pings))} ms`);
  // The header over its size limit is refused from its first 8 bytes; the others once read.
  assert.deepEqual(
    answers.map((a) => a.status),
    [413, 400, 413],
  );
  assert.deepEqual(t.logged, []);
});

test('batch header limits: size from the first 8 bytes (413), depth and values before parsing', async () => {
  const ingest = (body: Buffer) =>
    t.request(`/api/v1/experiments/${id}/ingest`, { method: 'POST', body, headers: batchHeaders });
  const tooBig = await ingest(framed(MAX_BATCH_HEADER_BYTES + 1, Buffer.from('{}')));
  assert.equal(tooBig.status, 413);
  assert.equal(tooBig.body.code, 'PAYLOAD_TOO_LARGE');
  assert.match(tooBig.body.message, new RegExp(`${MAX_BATCH_HEADER_BYTES + 1} bytes`));
  assert.match(tooBig.body.hint, /fewer chunks/);

  const nest = (depth: number) => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`);
  const deep = await ingest(framed(MAX_BATCH_HEADER_DEPTH + 1, nest(MAX_BATCH_HEADER_DEPTH + 1)));
  assert.equal(deep.status, 400);
  assert.match(deep.body.message, new RegExp(`more than ${MAX_BATCH_HEADER_DEPTH} levels deep`));
  // Within the depth limit the header is parsed, and then fails its schema.
  const shallow = nest(MAX_BATCH_HEADER_DEPTH);
  const parsed = await ingest(framed(shallow.length, shallow));
  assert.equal(parsed.status, 400);
  assert.match(parsed.body.message, /invalid batch header/);

  const many = Buffer.from(`[${'0,'.repeat(MAX_BATCH_HEADER_VALUES)}0]`);
  const wide = await ingest(framed(many.length, many));
  assert.equal(wide.status, 413);
  assert.match(wide.body.message, new RegExp(`more than ${MAX_BATCH_HEADER_VALUES} values`));

  // Brackets and commas inside strings are neither depth nor values.
  const quoted = Buffer.from(JSON.stringify({ sources: [`${'[,'.repeat(MAX_BATCH_HEADER_VALUES)}`] }));
  const inString = await ingest(framed(quoted.length, quoted));
  assert.equal(inString.status, 400);
  assert.match(inString.body.message, /invalid batch header at sources\.0/);
  assert.deepEqual(t.logged, []);
});

test('100,000 one-point chunks of one key in one batch: stored whole, merged in linear time', async () => {
  const n = 100_000;
  const chunks = Array.from({ length: n }, (_, i) => ({ key: 'loss', points: points([[i, i / 2, i]]) }));
  const body = batch([{ source: 'wide', fromSeq: -1, toSeq: n - 1, chunks }]);
  const started = performance.now();
  const res = await t.request(`/api/v1/experiments/${id}/ingest`, {
    method: 'POST',
    body,
    headers: batchHeaders,
  });
  const ms = performance.now() - started;
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.stored, n);
  // The unfixed merge took 12 s on an idle machine (49 s on a busy one); linear takes well under 1 s.
  assert.ok(ms < 6000, `ingest of ${n} one-point chunks took ${Math.round(ms)} ms`);
  const series = await t.request(`/api/v1/experiments/${id}/metrics/loss?maxPoints=1000000`);
  assert.equal(series.status, 200);
  assert.equal(series.body.total, n);
  assert.equal(series.body.downsampled, false);
  const got = series.body.points as { step: number; value: number }[];
  assert.equal(got.length, n);
  assert.ok(got.every((p, i) => p.step === i && p.value === i / 2));
  // A second batch of the same key appends to the last stored chunk while it is small.
  const next = batch([
    { source: 'wide', fromSeq: n - 1, toSeq: n, chunks: [{ key: 'loss', points: points([[n, 1, n]]) }] },
  ]);
  const again = await t.request(`/api/v1/experiments/${id}/ingest`, {
    method: 'POST',
    body: next,
    headers: batchHeaders,
  });
  assert.equal(again.status, 200);
  const all = await t.request(`/api/v1/experiments/${id}/metrics/loss?maxPoints=1000000`);
  assert.equal(all.body.total, n + 1);
  assert.deepEqual(all.body.points.at(-1), { step: n, value: 1, ts: 1000 + n });
});
