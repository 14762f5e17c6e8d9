/** The most runs one compare view overlays (`/compare?ids=` with more is refused). */
export const MAX_COMPARED = 20;

/** The pages of the dashboard, from the address bar. */
export type Route =
  | { page: 'runs' }
  | { page: 'run'; id: string }
  | { page: 'compare'; ids: string[] }
  | { page: 'login' }
  | { page: 'not-found' };

/** Parses `/`, `/experiments/<id>`, `/compare?ids=a,b` and `/login`. */
export function parseRoute(pathname: string, search: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return { page: 'runs' };
  if (path === '/login') return { page: 'login' };
  if (path === '/compare') {
    const ids = (new URLSearchParams(search).get('ids') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return { page: 'compare', ids: [...new Set(ids)] };
  }
  const m = /^\/experiments\/([^/]+)$/.exec(path);
  if (m) {
    try {
      return { page: 'run', id: decodeURIComponent(m[1]!) };
    } catch (error) {
      if (error instanceof URIError) return { page: 'not-found' };
      throw error;
    }
  }
  return { page: 'not-found' };
}
