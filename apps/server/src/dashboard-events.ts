import { EventEmitter } from 'node:events';

/** What the dashboard is told: the run list (or a run's state) changed, or a run got new points. */
export type DashboardEvent = { type: 'runs' } | { type: 'points'; id: string };

export type DashboardListener = (event: DashboardEvent) => void;

/** An in-process bus of dashboard events, per workspace. */
export interface DashboardEvents {
  emit(workspace: string, event: DashboardEvent): void;
  /** Listens to one workspace's events; returns the function that stops listening. */
  subscribe(workspace: string, listener: DashboardListener): () => void;
}

export function createDashboardEvents(): DashboardEvents {
  const emitter = new EventEmitter();
  // Every open dashboard tab is a listener.
  emitter.setMaxListeners(0);
  return {
    emit: (workspace, event) => emitter.emit(workspace, event),
    subscribe(workspace, listener) {
      emitter.on(workspace, listener);
      return () => emitter.off(workspace, listener);
    },
  };
}

export const PING_INTERVAL_MS = 15_000;

/**
 * A `text/event-stream` answer (server-sent events): `event: runs` with data `{}` and
 * `event: points` with data `{"id": …}`, and a `: ping` comment every 15 s so proxies keep the
 * connection. Stops listening when the client goes away.
 */
export function eventStreamResponse(
  subscribe: (listener: DashboardListener) => () => void,
  signal: AbortSignal,
): Response {
  const encoder = new TextEncoder();
  let stop = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text));
        } catch (error) {
          // The stream closed under us (client gone): stop listening.
          if (!(error instanceof TypeError)) throw error;
          stop();
        }
      };
      const unsubscribe = subscribe((event) => {
        const data = event.type === 'points' ? { id: event.id } : {};
        write(`event: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`);
      });
      const ping = setInterval(() => write(': ping\n\n'), PING_INTERVAL_MS);
      ping.unref();
      stop = () => {
        clearInterval(ping);
        unsubscribe();
        signal.removeEventListener('abort', stop);
      };
      signal.addEventListener('abort', stop);
      // The first bytes make the response headers go out at once.
      write(': connected\n\n');
    },
    cancel() {
      stop();
    },
  });
  return new Response(stream, {
    headers: {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    },
  });
}
