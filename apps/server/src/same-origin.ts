import { SwanlogError } from '@swanlog/protocol';

/**
 * Refuses (403 FORBIDDEN) a request a browser sent from another site: one whose `Origin` is
 * neither the request's own origin nor the origin of `publicUrl`, or whose `Sec-Fetch-Site` is
 * `cross-site`. A request without `Origin` passes (same-origin GETs, scripts, curl). Applied to
 * everything the session cookie can authorize and to `POST`/`DELETE /api/v1/session`, so another
 * site can neither read with nor sign in or out the dashboard's cookie, whatever SameSite a
 * browser honours.
 */
export function requireSameOrigin(request: Request, publicUrl: string | null): void {
  if ((request.headers.get('sec-fetch-site') ?? '').trim().toLowerCase() === 'cross-site')
    throw crossSite('Sec-Fetch-Site: cross-site');
  const origin = request.headers.get('origin');
  if (origin === null) return;
  const allowed = [originOf(request.url), publicUrl === null ? undefined : originOf(publicUrl)];
  if (!allowed.includes(origin.trim().toLowerCase())) throw crossSite(`Origin ${JSON.stringify(origin)}`);
}

/** The lower-case `scheme://host[:port]` of `url` (default ports dropped), or undefined. */
function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? undefined : origin.toLowerCase();
  } catch (error) {
    if (error instanceof TypeError) return undefined;
    throw error;
  }
}

function crossSite(what: string): SwanlogError {
  return new SwanlogError('FORBIDDEN', `cross-site request refused (${what})`, {
    hint: 'the dashboard session works from the dashboard itself; scripts send Authorization: Bearer <key>',
  });
}
