import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_PREFIX } from '@swanlog/protocol';
import type { Context, Hono } from 'hono';

/**
 * Where the dashboard's static build lives when no `webRoot` is given: `apps/web/dist/public` of
 * this repository. Located by path, not by importing `@swanlog/web`, so the server does not
 * depend on the UI's package.
 */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist/public/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>swanlog</title></head>
<body><h1>swanlog</h1><p>The dashboard UI is not built. Build it with <code>pnpm -r build</code>
(it is served from <code>apps/web/dist/public</code>); the API under <code>${API_PREFIX}</code> works meanwhile.</p></body></html>
`;

/**
 * Serves the single-page UI from `webRoot` for every GET/HEAD outside the API, without auth: a file
 * that exists is sent with its content type, `/assets/*` that does not is 404, and any other path
 * (`/`, `/experiments/<id>`, `/compare`, `/login`) answers index.html, or a short page saying the UI
 * is not built.
 */
export function serveUi(app: Hono, webRoot: string = DEFAULT_WEB_ROOT): void {
  const root = resolve(webRoot);
  const handler = async (c: Context) => {
    const path = c.req.path;
    if (path === API_PREFIX || path.startsWith(`${API_PREFIX}/`)) return c.notFound();
    const file = await fileOf(root, path);
    if (file !== undefined) return send(c, file, path.startsWith('/assets/'));
    if (path.startsWith('/assets/')) return c.notFound();
    const index = await fileOf(root, '/index.html');
    if (index === undefined) return c.html(NOT_BUILT);
    c.header('Cache-Control', 'no-cache');
    return send(c, index, false);
  };
  app.get('*', handler);
}

async function send(c: Context, file: string, immutable: boolean): Promise<Response> {
  const body = await readFile(file);
  const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  if (immutable) c.header('Cache-Control', 'public, max-age=31536000, immutable');
  c.header('Content-Type', type);
  c.header('X-Content-Type-Options', 'nosniff');
  return c.body(new Uint8Array(body));
}

const NO_SUCH_FILE = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'ENAMETOOLONG', 'ELOOP']);

/** The regular file `urlPath` names under `root`, or undefined (also for paths leaving the root). */
async function fileOf(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch (error) {
    if (error instanceof URIError) return undefined;
    throw error;
  }
  if (decoded.includes('\0') || decoded === '/' || decoded.endsWith('/')) return undefined;
  const file = resolve(join(root, decoded));
  if (!file.startsWith(root + sep)) return undefined;
  try {
    return (await stat(file)).isFile() ? file : undefined;
  } catch (error) {
    // A name too long for the file system (found by the fuzz test: `GET /` + 300 characters was a
    // 500) or a symlink loop is simply no file of the build.
    if (NO_SUCH_FILE.has((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
}
