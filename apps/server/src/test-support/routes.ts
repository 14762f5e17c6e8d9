import type { Hono } from 'hono';

/** One route of a Hono app's router. */
export interface RouteEntry {
  method: string;
  /** As registered, e.g. `/api/v1/experiments/:id/metrics/*`. */
  path: string;
}

/** Every route registered on `app` (from `app.routes`), deduplicated, in registration order. */
export function routesOf(app: Hono): RouteEntry[] {
  const seen = new Set<string>();
  const out: RouteEntry[] = [];
  for (const r of app.routes) {
    const id = `${r.method} ${r.path}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ method: r.method, path: r.path });
  }
  return out;
}

/**
 * A concrete URL path for a route pattern: each `:name` from `params` (a missing one throws, so a
 * route with a new parameter cannot be skipped silently) and a trailing `*` as `rest`.
 */
export function fillPath(pattern: string, params: Record<string, string>, rest: string): string {
  return pattern
    .replace(/:(\w+)(\{[^}]*\})?/g, (_, name: string) => {
      const value = params[name];
      if (value === undefined) throw new Error(`no placeholder value for :${name} in ${pattern}`);
      return encodeURIComponent(value);
    })
    .replace(/\*$/, rest);
}

/** The query a route needs to answer at all (the multi-key metrics route names its keys). */
const SAMPLE_QUERIES: Record<string, string> = {
  'GET /api/v1/experiments/:id/metrics': '?key=loss',
};

/** `fillPath` plus the query the route needs (see SAMPLE_QUERIES), for the route's method. */
export function samplePath(route: RouteEntry, params: Record<string, string>, rest: string): string {
  return fillPath(route.path, params, rest) + (SAMPLE_QUERIES[labelOf(route)] ?? '');
}

/** The route's own label, e.g. `POST /api/v1/experiments/:id/ingest`. */
export function labelOf(route: RouteEntry): string {
  return `${route.method} ${route.path}`;
}
