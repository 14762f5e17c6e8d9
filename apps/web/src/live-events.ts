/** What the backend announces: the runs list changed, or a run has new points. */
export type LiveEvent = { type: 'runs' } | { type: 'points'; id: string };

const POLL_MS = 5000;

/**
 * Follows `GET /api/v1/events` (server-sent events). When the backend offers no event stream,
 * falls back to announcing a change every few seconds so the page still follows live runs.
 * Returns a function that stops listening.
 */
export function subscribeLiveEvents(onEvent: (event: LiveEvent) => void): () => void {
  let poll: ReturnType<typeof setInterval> | undefined;
  const source = new EventSource('/api/v1/events');
  source.addEventListener('runs', () => onEvent({ type: 'runs' }));
  source.addEventListener('points', (e) => {
    const id = parseId((e as MessageEvent<string>).data);
    if (id !== undefined) onEvent({ type: 'points', id });
  });
  source.addEventListener('error', () => {
    // EventSource reconnects by itself unless the answer was not an event stream (CLOSED).
    if (source.readyState === EventSource.CLOSED && poll === undefined) {
      poll = setInterval(() => onEvent({ type: 'runs' }), POLL_MS);
    }
  });
  return () => {
    source.close();
    if (poll !== undefined) clearInterval(poll);
  };
}

function parseId(data: string): string | undefined {
  try {
    const body = JSON.parse(data) as { id?: unknown };
    return typeof body.id === 'string' ? body.id : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/**
 * Runs `task` now and again whenever `request` is called, never two at once: calls during a
 * run collapse into one more run after it, so a burst of events costs at most two fetches.
 */
export function createRefresher(task: () => Promise<void>, onError: (error: unknown) => void): () => void {
  let running = false;
  let again = false;
  const request = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    task()
      .catch(onError)
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          request();
        }
      });
  };
  return request;
}
