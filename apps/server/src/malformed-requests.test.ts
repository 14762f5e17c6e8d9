import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, test } from 'node:test';
import { MAX_BODY_BYTES, MAX_JSON_BYTES } from '@swanlog/protocol';
import { batch, batchHeaders, points, startTestServer, type TestServer } from './test-support/server.js';

let t: TestServer;
let id: string;
before(async () => {
  t = await startTestServer();
  const res = await t.request('/api/v1/experiments', {
    method: 'POST',
    json: { requestKey: 'm', project: 'p' },
  });
  id = res.body.experiment.id;
});
after(async () => {
  await t.close();
});

const ingest = (body: Buffer | string, headers: Record<string, string> = batchHeaders) =>
  t.request(`/api/v1/experiments/${id}/ingest`, { method: 'POST', body, headers });

/** Asserts a 4xx `{code, message}` answer and that the server still answers afterwards. */
async function assertRefused(
  res: { status: number; body: { code?: string; message?: string } },
  status: number,
  code: string,
  label: string,
): Promise<void> {
  assert.equal(res.status, status, `${label}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.code, code, label);
  assert.equal(typeof res.body.message, 'string', label);
  assert.equal((await t.request('/api/v1/server')).status, 200, `${label}: server still answers`);
}

const good = () =>
  batch([
    {
      source: 'src',
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
  ]);

test('malformed JSON bodies, wrong content types and invalid fields are 400', async () => {
  const post = (path: string, body: string, type = 'application/json') =>
    t.request(path, { method: 'POST', body, headers: { 'content-type': type } });
  await assertRefused(
    await post('/api/v1/experiments', '{"requestKey":'),
    400,
    'BAD_REQUEST',
    'truncated JSON',
  );
  await assertRefused(await post('/api/v1/experiments', '[]'), 400, 'BAD_REQUEST', 'array body');
  await assertRefused(
    await post('/api/v1/experiments', '{"requestKey":"k"}'),
    400,
    'BAD_REQUEST',
    'missing project',
  );
  await assertRefused(
    await post(
      '/api/v1/experiments',
      JSON.stringify({ requestKey: 'k', project: 'p', requestedId: 'bad id!' }),
    ),
    400,
    'BAD_REQUEST',
    'bad requested id',
  );
  await assertRefused(
    await post('/api/v1/experiments', JSON.stringify({ requestKey: 'k', project: 'p', extra: 1 })),
    400,
    'BAD_REQUEST',
    'unknown field',
  );
  await assertRefused(
    await post('/api/v1/experiments', JSON.stringify({ requestKey: 'k', project: 'p' }), 'text/plain'),
    400,
    'BAD_REQUEST',
    'wrong content type',
  );
  await assertRefused(
    await ingest(good(), { 'content-type': 'application/json' }),
    400,
    'BAD_REQUEST',
    'batch as JSON',
  );
  await assertRefused(
    await post(
      `/api/v1/experiments/${id}/config`,
      JSON.stringify({ revisions: [{ ts: -1, source: null, patch: {} }] }),
    ),
    400,
    'BAD_REQUEST',
    'negative ts',
  );
  await assertRefused(
    await post('/api/v1/session', '{"apiKey": 5}'),
    400,
    'BAD_REQUEST',
    'session with a number',
  );
});

test('bad ids, bad percent-encoding and bad queries in URLs are 4xx', async () => {
  await assertRefused(
    await t.request('/api/v1/experiments/bad%20id'),
    400,
    'INVALID_RUN_ID',
    'id with a space',
  );
  await assertRefused(
    await t.request(`/api/v1/experiments/${'x'.repeat(65)}`),
    400,
    'INVALID_RUN_ID',
    'long id',
  );
  await assertRefused(
    await t.request(`/api/v1/experiments/${id}/metrics/loss%E0%A4%A`),
    400,
    'BAD_REQUEST',
    'bad %',
  );
  await assertRefused(
    await t.request(`/api/v1/experiments/${id}/metrics/a%00b`),
    400,
    'BAD_REQUEST',
    'control char',
  );
  await assertRefused(
    await t.request(`/api/v1/experiments/${id}/metrics/loss?maxPoints=0`),
    400,
    'BAD_REQUEST',
    'maxPoints 0',
  );
  await assertRefused(
    await t.request(`/api/v1/experiments/${id}/metrics/loss?from=abc`),
    400,
    'BAD_REQUEST',
    'from abc',
  );
  await assertRefused(await t.request('/api/v1/nothing-here'), 404, 'NOT_FOUND', 'unknown route');
});

test('bad batches are 400 and store nothing', async () => {
  const body = good();
  await assertRefused(await ingest(Buffer.from('XXXX\0\0\0\0{}')), 400, 'BAD_REQUEST', 'bad magic');
  await assertRefused(await ingest(body.subarray(0, body.length - 3)), 400, 'BAD_REQUEST', 'truncated batch');
  await assertRefused(
    await ingest(Buffer.concat([body, Buffer.from([1])])),
    400,
    'BAD_REQUEST',
    'trailing byte',
  );
  await assertRefused(await ingest(body.subarray(0, 10)), 400, 'BAD_REQUEST', 'truncated header');
  await assertRefused(await ingest(Buffer.alloc(0)), 400, 'BAD_REQUEST', 'empty batch');
  const corrupt = Buffer.from(body);
  corrupt[corrupt.length - 20] = corrupt[corrupt.length - 20]! ^ 0xff; // inside the chunk's values
  const res = await ingest(corrupt);
  await assertRefused(res, 400, 'BAD_REQUEST', 'bad chunk checksum');
  assert.match((res.body as { message: string }).message, /"loss"/, 'names the key');
  const outOfRange = batch([
    {
      source: 'src',
      fromSeq: -1,
      toSeq: 1,
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
  ]);
  await assertRefused(await ingest(outOfRange), 400, 'BAD_REQUEST', 'seq beyond toSeq');
  const rewindOut = batch([{ source: 'src', fromSeq: -1, toSeq: 1, rewinds: [{ seq: 5, ts: 1, step: 0 }] }]);
  await assertRefused(await ingest(rewindOut), 400, 'BAD_REQUEST', 'rewind beyond toSeq');
  const twice = batch([
    { source: 'src', fromSeq: -1, toSeq: -1 },
    { source: 'src', fromSeq: -1, toSeq: -1 },
  ]);
  await assertRefused(await ingest(twice), 400, 'BAD_REQUEST', 'source twice');
  // n in the header disagreeing with the chunk
  const wrongN = Buffer.from(good().toString('latin1').replace('"n":2', '"n":3'), 'latin1');
  await assertRefused(await ingest(wrongN), 400, 'BAD_REQUEST', 'wrong n');
  const sync = await t.request(`/api/v1/experiments/${id}/sync`);
  assert.deepEqual(sync.body.watermarks, {}, 'nothing was stored');
  assert.equal((await ingest(good())).status, 200, 'a sound batch is taken after all that');
});

test('oversize bodies are 413 and the server keeps answering', async () => {
  const big = Buffer.alloc(MAX_BODY_BYTES + 1024, 0x20);
  await assertRefused(await ingest(big), 413, 'PAYLOAD_TOO_LARGE', 'huge batch');
  const json = `{"requestKey":"k","project":"${'p'.repeat(MAX_JSON_BYTES)}"}`;
  await assertRefused(
    await t.request('/api/v1/experiments', {
      method: 'POST',
      body: json,
      headers: { 'content-type': 'application/json' },
    }),
    413,
    'PAYLOAD_TOO_LARGE',
    'huge JSON',
  );
  // Without Content-Length (chunked), the limit is enforced while reading.
  const chunked = await new Promise<{ status: number; body: { code?: string; message?: string } }>(
    (resolve, reject) => {
      const url = new URL(`${t.server.url}/api/v1/experiments`);
      const req = httpRequest(
        url,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${t.writeKey}`, 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      const piece = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < MAX_JSON_BYTES * 3) {
          sent += piece.length;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    },
  );
  await assertRefused(chunked, 413, 'PAYLOAD_TOO_LARGE', 'chunked JSON');
});

// Regression: a batch whose keys were '\ud800' and '\udc00' was taken; stored as UTF-8 text both
// became U+FFFD, so two series merged into one name.
test('names that are not well-formed UTF-16 (a lone surrogate) are 400 and store nothing', async () => {
  const created = await t.request('/api/v1/experiments', {
    method: 'POST',
    json: { requestKey: 'surrogates', project: 'p' },
  });
  const exp = created.body.experiment.id as string;
  const chunk = (key: string) => ({ key, points: points([[0, 1, 1]]) });
  for (const key of ['\ud800', '\udc00', 'loss\ud83d']) {
    const body = batch([{ source: 'src', fromSeq: -1, toSeq: 1, chunks: [chunk('good'), chunk(key)] }]);
    const res = await t.request(`/api/v1/experiments/${exp}/ingest`, {
      method: 'POST',
      body,
      headers: batchHeaders,
    });
    await assertRefused(res, 400, 'BAD_REQUEST', `key ${JSON.stringify(key)}`);
    assert.match(res.body.message, /chunks\.1\.key: not well-formed UTF-16/);
  }
  const sync = await t.request(`/api/v1/experiments/${exp}/sync`);
  assert.deepEqual(sync.body.watermarks, {}, 'nothing was stored');
  assert.deepEqual((await t.request(`/api/v1/experiments/${exp}`)).body.keys, []);

  for (const [field, json] of [
    ['project', { requestKey: 'bad-project', project: 'p\ud800' }],
    ['name', { requestKey: 'bad-name', project: 'p', name: '\udfffrun' }],
  ] as const) {
    const res = await t.request('/api/v1/experiments', { method: 'POST', json });
    await assertRefused(res, 400, 'BAD_REQUEST', field);
    assert.match(res.body.message, new RegExp(`at ${field}: not well-formed UTF-16`));
  }
  const emoji = batch([{ source: 'src', fromSeq: -1, toSeq: 1, chunks: [chunk('😀/loss')] }]);
  const ok = await t.request(`/api/v1/experiments/${exp}/ingest`, {
    method: 'POST',
    body: emoji,
    headers: batchHeaders,
  });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual((await t.request(`/api/v1/experiments/${exp}`)).body.keys, ['😀/loss']);
});
