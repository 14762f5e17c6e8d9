import type { IncomingMessage } from 'node:http';
import { measureJson, SwanlogError } from '@swanlog/protocol';

/** The schema surface used here (zod's safeParse), so this file needs no zod import. */
export interface BodySchema<T> {
  safeParse(
    value: unknown,
  ):
    | { success: true; data: T }
    | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** A look at the first bytes of a body as soon as they are in, before the rest is read. */
export interface BodyPrefixCheck {
  bytes: number;
  /** Throws to refuse the body. */
  check(prefix: Buffer): void;
}

/** How readBody reads. */
export interface ReadBodyOptions {
  /** Sees the first bytes once they have arrived, and may refuse the body then. */
  prefix?: BodyPrefixCheck;
  /** The Node request the adapter received (below). */
  incoming?: IncomingMessage;
  /**
   * A body of more than one piece is joined into shared memory (a SharedArrayBuffer), which
   * another thread can read without a copy.
   */
  shared?: boolean;
}

/**
 * Reads a request body, refusing it with PAYLOAD_TOO_LARGE as soon as it passes `limit` bytes
 * (by Content-Length before reading, else while reading), so a huge body is never buffered whole.
 *
 * `incoming` is the Node request the adapter received (`c.env.incoming` under @hono/node-server):
 * when nothing has read it yet, its Buffers are taken as they arrive, where the web stream the
 * adapter makes of it copies every piece (and Buffer.concat once more): an upload of 10^7 points
 * is ~28 MB of batches. A body refused half way is left to the adapter, which drains it after
 * the response so the client sees the refusal.
 */
export async function readBody(
  request: Request,
  limit: number,
  options: ReadBodyOptions = {},
): Promise<Buffer> {
  const { incoming } = options;
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  // Anything else (a request already read, paused, or destroyed by a client that went away while
  // the route authenticated: its events are over) takes the adapter's stream, which copes.
  if (
    incoming !== undefined &&
    !incoming.readableDidRead &&
    !incoming.readableEnded &&
    !incoming.destroyed &&
    incoming.readableFlowing !== false
  )
    return readIncoming(incoming, limit, options);
  if (request.body === null) return Buffer.alloc(0);
  const body = new BodyParts(limit, options);
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return body.joined();
    try {
      body.add(value);
    } catch (error) {
      await reader.cancel();
      throw error;
    }
  }
}

/** A body's pieces as they arrive, held to the limit and seen by the prefix check once. */
class BodyParts {
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  private checked: boolean;
  private readonly prefix: BodyPrefixCheck | undefined;
  private readonly shared: boolean;

  constructor(
    private readonly limit: number,
    options: ReadBodyOptions,
  ) {
    this.prefix = options.prefix;
    this.shared = options.shared === true;
    this.checked = this.prefix === undefined;
  }

  /** Takes a piece; throws PAYLOAD_TOO_LARGE past the limit, or what the prefix check throws. */
  add(piece: Uint8Array): void {
    this.size += piece.byteLength;
    if (this.size > this.limit) throw tooLarge(this.limit);
    this.parts.push(piece);
    if (!this.checked && this.size >= this.prefix!.bytes) {
      this.checked = true;
      this.prefix!.check(Buffer.concat(this.parts, this.size).subarray(0, this.prefix!.bytes));
    }
  }

  /** The whole body (the piece itself when there was one). */
  joined(): Buffer {
    const only = this.parts.length === 1 ? this.parts[0]! : undefined;
    if (only !== undefined) return Buffer.from(only.buffer, only.byteOffset, only.byteLength);
    if (!this.shared || this.parts.length === 0) return Buffer.concat(this.parts, this.size);
    const out = Buffer.from(new SharedArrayBuffer(this.size));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }
}

/** readBody from the Node request itself (see there). */
function readIncoming(incoming: IncomingMessage, limit: number, options: ReadBodyOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const body = new BodyParts(limit, options);
    const done = (error?: unknown) => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
      if (error !== undefined) reject(error);
      else resolve(body.joined());
    };
    const onData = (piece: Buffer) => {
      try {
        body.add(piece);
      } catch (error) {
        done(error);
      }
    };
    const onEnd = () => done();
    const onError = (error: Error) => done(error);
    // A client gone before the end of its body: nothing of it is taken.
    const onClose = () => {
      if (!incoming.readableEnded) done(new SwanlogError('BAD_REQUEST', 'the request body ended early'));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

/**
 * How deeply arrays and objects may nest in a JSON body. Config patches are merged and stored
 * recursively, so a 1 MiB body of `[[[[…` would otherwise overflow the stack (a 500).
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Reads and validates a JSON body (content type application/json, at most `limit` bytes, nesting
 * at most MAX_JSON_DEPTH deep).
 */
export async function readJson<T>(request: Request, schema: BodySchema<T>, limit: number): Promise<T> {
  requireContentType(request, 'application/json');
  const body = await readBody(request, limit);
  const { depth } = measureJson(body, { depth: MAX_JSON_DEPTH });
  if (depth > MAX_JSON_DEPTH)
    throw new SwanlogError('BAD_REQUEST', `request body nests more than ${MAX_JSON_DEPTH} levels deep`);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new SwanlogError('BAD_REQUEST', `request body is not JSON: ${(error as Error).message}`);
  }
  return validate(schema, value, 'request body');
}

/** Validates `value`, answering BAD_REQUEST that names the first offending field. */
export function validate<T>(schema: BodySchema<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const at = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.map(String).join('.')}`;
  throw new SwanlogError('BAD_REQUEST', `invalid ${what}${at}: ${issue?.message ?? 'invalid'}`);
}

export function requireContentType(request: Request, expected: string): void {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== expected) {
    throw new SwanlogError(
      'BAD_REQUEST',
      `content type must be ${expected}, got ${type === '' ? 'none' : type}`,
    );
  }
}

function tooLarge(limit: number): SwanlogError {
  return new SwanlogError('PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`, {
    hint: 'send smaller batches',
  });
}
