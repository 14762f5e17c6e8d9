import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isSwanlogError, type KeyScope, SwanlogError } from '@swanlog/protocol';
import { requireSameOrigin } from './same-origin.js';
import type { Storage } from './storage/storage.js';

/** Who is asking: the workspace and scope of their key. */
export interface Principal {
  keyId: string;
  workspace: string;
  scope: KeyScope;
}

export const KEY_PREFIX = 'swl_';
export const SESSION_COOKIE = 'swanlog_session';
/** How long a dashboard sign-in lasts. */
export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `swl_` followed by 40 base62 characters from the crypto RNG (about 238 bits). */
export function generateApiKey(): string {
  return `${KEY_PREFIX}${randomBase62(40)}`;
}

/** A dashboard session token (never stored; only its hash is). */
export function generateSessionToken(): string {
  return randomBase62(43);
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * The unrevoked key behind `key`, looked up on every call (no cache), so a revocation by another
 * process takes effect at once. The lookup is by hash, and the stored hash is compared in
 * constant time as well.
 */
export async function verifyApiKey(storage: Storage, key: string): Promise<Principal | undefined> {
  if (!key.startsWith(KEY_PREFIX) || key.length > 200) return undefined;
  const hash = sha256Hex(key);
  const found = await storage.findApiKeyByHash(hash);
  if (found === undefined || found.revokedAt !== null) return undefined;
  if (!timingSafeEqual(Buffer.from(found.hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
  return { keyId: found.id, workspace: found.workspace, scope: found.scope };
}

/**
 * Authenticates a request for a route needing `scope`: a Bearer key, or on read routes the
 * dashboard's session cookie. 401 without valid credentials, 403 for a read key on a write route
 * and for a cookie sent by another site (`requireSameOrigin`; `publicUrl` is the server's
 * `--public-url`, whose origin counts as the server's own).
 */
export async function authenticate(
  storage: Storage,
  request: Request,
  scope: KeyScope,
  publicUrl: string | null = null,
): Promise<Principal> {
  const header = request.headers.get('authorization');
  let principal: Principal | undefined;
  if (header !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    principal = match === null ? undefined : await verifyApiKey(storage, match[1]!);
  } else {
    const token = cookieOf(request, SESSION_COOKIE);
    if (token !== undefined && scope === 'read') {
      const key = await storage.findDashboardSession(sha256Hex(token), Date.now());
      if (key !== undefined) {
        requireSameOrigin(request, publicUrl);
        principal = { keyId: key.id, workspace: key.workspace, scope: key.scope };
      }
    }
  }
  if (principal === undefined) {
    throw new SwanlogError('UNAUTHORIZED', 'missing, unknown or revoked API key', {
      hint:
        scope === 'write'
          ? 'send Authorization: Bearer <key> with a write key'
          : 'send Authorization: Bearer <key> (create one with `swanlog server key create`)',
    });
  }
  if (scope === 'write' && principal.scope !== 'write') {
    throw new SwanlogError('FORBIDDEN', `key ${principal.keyId} is read-only`, {
      hint: 'create a write key with `swanlog server key create --scope write`',
    });
  }
  return principal;
}

/** The CSRF token of a dashboard session: derived from its cookie token, which scripts of other sites cannot read. */
export function csrfTokenOf(sessionToken: string): string {
  return sha256Hex(`csrf\0${sessionToken}`);
}

/**
 * Authenticates a change of team metadata (tags, note, name, archive): a Bearer write key, or a
 * dashboard session signed in with a write key whose request carries the session's CSRF token in
 * `X-CSRF-Token` and passes the Origin check. Sessions may change metadata only: ingest, copy,
 * config and delete stay Bearer-only.
 */
export async function authenticateMetaEdit(
  storage: Storage,
  request: Request,
  publicUrl: string | null,
): Promise<Principal> {
  if (request.headers.get('authorization') !== null)
    return authenticate(storage, request, 'write', publicUrl);
  const token = cookieOf(request, SESSION_COOKIE);
  const key =
    token === undefined ? undefined : await storage.findDashboardSession(sha256Hex(token), Date.now());
  if (token === undefined || key === undefined) {
    throw new SwanlogError('UNAUTHORIZED', 'missing, unknown or revoked API key', {
      hint: 'sign in to the dashboard with a write key, or send Authorization: Bearer <key> with a write key',
    });
  }
  requireSameOrigin(request, publicUrl);
  const sent = request.headers.get('x-csrf-token') ?? '';
  const expected = csrfTokenOf(token);
  if (sent.length !== expected.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(expected))) {
    throw new SwanlogError('FORBIDDEN', "the dashboard session's CSRF token is missing or wrong", {
      hint: 'send X-CSRF-Token with the csrfToken that GET /api/v1/server gives the session',
    });
  }
  if (key.scope !== 'write') {
    throw new SwanlogError('FORBIDDEN', `key ${key.id} is read-only`, {
      hint: 'sign in to the dashboard with a write key to change tags, notes, names or archive runs',
    });
  }
  return { keyId: key.id, workspace: key.workspace, scope: key.scope };
}

/**
 * Whether `request`, authenticated earlier as `who`, still is: its key unrevoked, its dashboard
 * session neither expired nor signed out. For long-lived answers (event streams), whose request
 * is authenticated once but which keep sending.
 */
export async function stillAuthenticated(
  storage: Storage,
  request: Request,
  who: Principal,
  publicUrl: string | null,
): Promise<boolean> {
  try {
    return (await authenticate(storage, request, 'read', publicUrl)).keyId === who.keyId;
  } catch (error) {
    if (isSwanlogError(error, 'UNAUTHORIZED') || isSwanlogError(error, 'FORBIDDEN')) return false;
    throw error;
  }
}

export function cookieOf(request: Request, name: string): string | undefined {
  const header = request.headers.get('cookie');
  if (header === null) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(64)) {
      // 248 = 4 * 62: rejecting the top bytes keeps every character equally likely.
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}
