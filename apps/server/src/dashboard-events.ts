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
 * How often an open stream's credentials are checked again, so a key revoked by another process
 * on the same database (`swanlog server key revoke`) ends its streams within about this long.
 */
export const CREDENTIAL_CHECK_MS = 1000;

export interface EventStreamOptions {
  /** Starts listening; returns the function that stops. */
  subscribe: (listener: DashboardListener) => () => void;
  /** The request's signal: the stream stops when the client goes away. */
  signal: AbortSignal;
  /**
   * Whether the stream's credentials still hold. Asked before each event is written and every
   * CREDENTIAL_CHECK_MS; on false (or a failure, reported to `onError`) the stream ends, so an
   * event is never delivered once the check has seen the credentials revoked.
   */
  authorized?: () => Promise<boolean>;
  onError?: (error: unknown) => void;
}

/**
 * A `text/event-stream` answer (server-sent events): `event: runs` with data `{}` and
 * `event: points` with data `{"id": …}`, and a `: ping` comment every 15 s so proxies keep the
 * connection. Stops listening when the client goes away, and ends when `authorized` says no.
 */
export function eventStreamResponse(options: EventStreamOptions): Response {
  const { signal, authorized } = options;
  const encoder = new TextEncoder();
  let stop = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let ended = false;
      const write = (text: string) => {
        if (ended) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch (error) {
          // The stream closed under us (client gone): stop listening.
          if (!(error instanceof TypeError)) throw error;
          stop();
        }
      };
      // Checks and writes run one after another, so events keep their order behind the checks.
      let queue = Promise.resolve();
      const afterCheck = (then: () => void) => {
        if (authorized === undefined) return then();
        queue = queue.then(async () => {
          if (ended) return;
          let ok = false;
          try {
            ok = await authorized();
          } catch (error) {
            options.onError?.(error);
          }
          if (!ok) return end();
          then();
        });
      };
      const end = () => {
        if (ended) return;
        stop();
        try {
          controller.close();
        } catch (error) {
          // Already closed by the client going away.
          if (!(error instanceof TypeError)) throw error;
        }
      };
      const unsubscribe = options.subscribe((event) => {
        const data = event.type === 'points' ? { id: event.id } : {};
        afterCheck(() => write(`event: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`));
      });
      const ping = setInterval(() => write(': ping\n\n'), PING_INTERVAL_MS);
      ping.unref();
      const recheck =
        authorized === undefined ? undefined : setInterval(() => afterCheck(() => {}), CREDENTIAL_CHECK_MS);
      recheck?.unref();
      stop = () => {
        ended = true;
        clearInterval(ping);
        if (recheck !== undefined) clearInterval(recheck);
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
