// The client's transport against a real HTTP server on 127.0.0.1: what is retried, what is not,
// and the errors a user sees.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import { isSwanlogError, type SwanlogError } from '@swanlog/protocol';
import { createClient } from './create-client.js';

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number, body: Buffer) => void;

let server: Server;
let host: string;
let handler: Handler;
let attempts = 0;
const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }[] = [];

before(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      attempts++;
      const body = Buffer.concat(parts);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, attempts, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  attempts = 0;
  seen.length = 0;
});

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const client = (extra: { retryLimit?: number; timeoutMs?: number } = {}) =>
  createClient({ host, apiKey: 'sk-test', backoffLimitMs: 50, ...extra });
const fails = async (p: Promise<unknown>): Promise<SwanlogError> => {
  try {
    await p;
  } catch (error) {
    assert.ok(isSwanlogError(error), `a SwanlogError, not ${String(error)}`);
    return error;
  }
  assert.fail('the call succeeded');
};

describe('client transport', () => {
  test('sends the key, the body and its type; answers the parsed JSON', async () => {
    handler = (_req, res) => json(res, 200, { stored: 3, watermarks: { s: 3 } });
    const body = Buffer.from([1, 2, 3, 4]);
    assert.deepEqual(await client().ingest('run/1', body), { stored: 3, watermarks: { s: 3 } });
    assert.equal(seen[0]!.method, 'POST');
    assert.equal(seen[0]!.url, '/api/v1/experiments/run%2F1/ingest');
    assert.equal(seen[0]!.headers.authorization, 'Bearer sk-test');
    assert.equal(seen[0]!.headers['content-type'], 'application/vnd.swanlog.batch');
    assert.deepEqual(seen[0]!.body, body);
  });

  test('5xx, 408 and 429 are retried, POSTs included, until an answer comes', async () => {
    const statuses = [503, 408, 429, 500];
    handler = (_req, res, attempt) =>
      attempt <= statuses.length
        ? json(res, statuses[attempt - 1]!, { code: 'SERVER_ERROR', message: 'busy' })
        : json(res, 201, { id: 'x', created: true });
    const answer = await client().createExperiment({ requestKey: 'k', project: 'p' } as never);
    assert.deepEqual(answer, { id: 'x', created: true });
    assert.equal(attempts, 5);
    assert.ok(
      seen.every((s) => s.body.toString() === seen[0]!.body.toString()),
      'the same body each time',
    );
  });

  test('a 4xx is not retried and carries the server code, message and hint', async () => {
    handler = (_req, res) =>
      json(res, 409, { code: 'CONFLICT', message: 'not at the watermark', hint: 'upload again' });
    const error = await fails(client().ingest('r', Buffer.alloc(1)));
    assert.equal(error.code, 'CONFLICT');
    assert.equal(error.message, 'not at the watermark');
    assert.equal(error.hint, 'upload again');
    assert.equal(attempts, 1);
  });

  test('retries end after retryLimit; the last server error is the one reported', async () => {
    handler = (_req, res) => json(res, 503, { code: 'SERVER_ERROR', message: 'database is locked' });
    const error = await fails(client({ retryLimit: 2 }).syncStatus('r'));
    assert.equal(error.code, 'SERVER_ERROR');
    assert.equal(error.message, 'database is locked');
    assert.equal(attempts, 3);
  });

  test('a server that never answers: ETIMEDOUT after each attempt, then SERVER_UNREACHABLE', async () => {
    handler = () => {};
    const error = await fails(client({ retryLimit: 1, timeoutMs: 200 }).syncStatus('r'));
    assert.equal(error.code, 'SERVER_UNREACHABLE');
    assert.match(error.message, /ETIMEDOUT/);
    assert.match(error.hint ?? '', /picks up where it stopped/);
    assert.equal(attempts, 2);
  });

  test('a connection cut mid-answer is retried', async () => {
    handler = (_req, res, attempt) => {
      if (attempt === 1) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"stored":');
        setTimeout(() => res.socket?.destroy(), 10);
        return;
      }
      json(res, 200, { stored: 1, watermarks: {} });
    };
    assert.deepEqual(await client().ingest('r', Buffer.alloc(1)), { stored: 1, watermarks: {} });
    assert.equal(attempts, 2);
  });

  test('nobody listening: SERVER_UNREACHABLE with ECONNREFUSED', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const error = await fails(
      createClient({
        host: `127.0.0.1:${port}`,
        apiKey: 'k',
        retryLimit: 1,
        backoffLimitMs: 20,
      }).serverInfo(),
    );
    assert.equal(error.code, 'SERVER_UNREACHABLE');
    assert.match(error.message, /ECONNREFUSED/);
  });

  test('a non-swanlog answer: SERVER_ERROR naming the host', async () => {
    handler = (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    };
    const notFound = await fails(client().serverInfo());
    assert.equal(notFound.code, 'SERVER_ERROR');
    assert.match(notFound.message, new RegExp(`${host} answered GET /api/v1/server with HTTP 404`));
    assert.match(notFound.hint ?? '', /--host/);
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>');
    };
    const html = await fails(client().serverInfo());
    assert.equal(html.code, 'SERVER_ERROR');
    assert.match(html.message, /not JSON/);
  });

  // Bug: retries were silent, and only their count bounded how long a request kept trying.
  test('onRetry hears each retry with its wait; retryTimeMs bounds all attempts together', async () => {
    handler = (_req, res) => json(res, 503, { code: 'SERVER_ERROR', message: 'database is locked' });
    const events: { retry: number; delayMs: number; reason: string; what: string }[] = [];
    const started = Date.now();
    const error = await fails(
      createClient({
        host,
        apiKey: 'k',
        // Short waits within a long budget: at least 3 retries even on a loaded machine.
        backoffLimitMs: 20,
        retryTimeMs: 3000,
        onRetry: (e) => events.push({ retry: e.retry, delayMs: e.delayMs, reason: e.reason, what: e.what }),
      }).syncStatus('r'),
    );
    const took = Date.now() - started;
    assert.equal(error.code, 'SERVER_ERROR');
    assert.equal(error.message, 'database is locked');
    assert.ok(events.length >= 3, JSON.stringify(events));
    assert.deepEqual(
      events.map((e) => e.retry),
      events.map((_, i) => i + 1),
    );
    assert.equal(attempts, events.length + 1);
    for (const e of events) {
      assert.equal(e.reason, 'answered HTTP 503');
      assert.equal(e.what, 'GET /api/v1/experiments/r/sync');
      assert.ok(e.delayMs >= 0 && e.delayMs <= 20, JSON.stringify(e));
    }
    assert.ok(took < 15_000, `a 3 s budget took ${took} ms`);
  });

  test('Retry-After is honoured, up to the backoff cap', async () => {
    handler = (_req, res, attempt) => {
      if (attempt === 1) {
        res.writeHead(503, { 'retry-after': '30', 'content-type': 'application/json' });
        res.end('{"code":"SERVER_ERROR","message":"restarting"}');
        return;
      }
      json(res, 200, { ok: true });
    };
    const t0 = Date.now();
    await createClient({ host, apiKey: 'k', backoffLimitMs: 400 }).serverInfo();
    const waited = Date.now() - t0;
    assert.ok(waited >= 400, `waited ${waited} ms: Retry-After (30 s) capped at 400 ms, plus backoff`);
    assert.ok(waited < 10_000, `waited ${waited} ms: not the full Retry-After`);
  });
});
