import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { SwanlogError } from '@swanlog/protocol';
import { readBody } from './read-body.js';

/** A Node request stand-in: a stream of the given pieces. */
const incoming = (pieces: Buffer[]) =>
  Readable.from(pieces, { objectMode: false }) as unknown as IncomingMessage;
const request = (body?: Buffer) =>
  new Request('http://127.0.0.1/x', { method: 'POST', ...(body === undefined ? {} : { body }) });

test('a body is read from the Node request, piece by piece, when nothing has read it', async () => {
  const pieces = [Buffer.from('abc'), Buffer.from('defg'), Buffer.from('h')];
  // The web body differs, so the answer shows which was read.
  const body = await readBody(request(Buffer.from('web')), 1024, { incoming: incoming(pieces) });
  assert.equal(body.toString(), 'abcdefgh');
  assert.equal((await readBody(request(), 1024, { incoming: incoming([]) })).length, 0, 'an empty body ends');
});

test('a body past the limit is refused while it is read, and the request is left to drain', async () => {
  // A body still arriving (no end yet), as a large upload's is when it passes the limit.
  const source = new Readable({ read() {} }) as unknown as IncomingMessage;
  for (let i = 0; i < 3; i++) source.push(Buffer.alloc(600));
  await assert.rejects(
    readBody(request(), 1000, { incoming: source }),
    (error: unknown) => error instanceof SwanlogError && error.code === 'PAYLOAD_TOO_LARGE',
  );
  assert.equal(source.destroyed, false, 'not destroyed: the response must still go out');
  assert.equal(source.listenerCount('data'), 0, 'no listener left behind');
});

test('a prefix check refuses the body from its first bytes', async () => {
  const check = {
    bytes: 4,
    check(prefix: Buffer) {
      if (prefix.toString() !== 'GOOD') throw new SwanlogError('BAD_REQUEST', 'bad magic');
    },
  };
  await assert.rejects(
    readBody(request(), 1000, {
      prefix: check,
      incoming: incoming([Buffer.from('BA'), Buffer.from('D!rest')]),
    }),
    (error: unknown) => error instanceof SwanlogError && error.code === 'BAD_REQUEST',
  );
  const ok = await readBody(request(), 1000, {
    prefix: check,
    incoming: incoming([Buffer.from('GO'), Buffer.from('OD!rest')]),
  });
  assert.equal(ok.toString(), 'GOOD!rest');
});

test('a request already destroyed (its client gone) falls back to the web body instead of waiting forever', {
  timeout: 5000,
}, async () => {
  const gone = incoming([Buffer.from('never read')]);
  gone.destroy();
  await new Promise((resolve) => setImmediate(resolve));
  const body = await readBody(request(Buffer.from('buffered')), 1024, { incoming: gone });
  assert.equal(body.toString(), 'buffered');
});

test('with shared, a body of several pieces is joined into shared memory, byte for byte', async () => {
  const pieces = [Buffer.from('shared '), Buffer.from('between '), Buffer.from('threads')];
  const body = await readBody(request(), 1024, { incoming: incoming(pieces), shared: true });
  assert.equal(body.toString(), 'shared between threads');
  assert.ok(body.buffer instanceof SharedArrayBuffer, 'in a SharedArrayBuffer');
  const plain = await readBody(request(), 1024, { incoming: incoming(pieces) });
  assert.ok(!(plain.buffer instanceof SharedArrayBuffer), 'not without the option');
});
