import { type ErrorBody, httpStatusOf, isSwanlogError, SwanlogError } from '@swanlog/protocol';
import type { Hono } from 'hono';

/**
 * The one error mapping of both HTTP cores: a SwanlogError answers `{code, message, hint?}` with
 * its code's status; anything else is logged and answered 500 without internals. Unknown routes
 * are 404 NOT_FOUND.
 */
export function handleErrors(app: Hono, log: (message: string) => void, name: string): void {
  app.notFound((c) =>
    c.json(new SwanlogError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`).toJSON(), 404),
  );
  app.onError((error, c) => {
    if (isSwanlogError(error) && httpStatusOf(error.code) !== 500) {
      return c.json(error.toJSON(), httpStatusOf(error.code) as 400);
    }
    log(`${name}: ${c.req.method} ${c.req.path} failed: ${(error as Error)?.stack ?? String(error)}`);
    return c.json({ code: 'SERVER_ERROR', message: 'internal server error' } satisfies ErrorBody, 500);
  });
}
