import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { DashboardEvent, DashboardEvents, DashboardListener } from './dashboard-events.js';

/**
 * The channel every replica of one server listens on: named after its instance id, as channels
 * are per database and two servers may keep their tables in two schemas of one database.
 */
export function eventsChannel(instanceId: string): string {
  return `swanlog_events_${instanceId.toLowerCase()}`;
}
/** `application_name` of the listening connection (seen in pg_stat_activity). */
export function listenerName(instanceId: string): string {
  return `swanlog-listen ${instanceId}`;
}
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

export interface PostgresEventsOptions {
  url: string;
  /** The server's instance id (`Storage.instanceId()`), which names the channel. */
  instanceId: string;
  /** Where a lost listening connection and failed notifications are reported. */
  log: (message: string) => void;
}

export interface PostgresEvents extends DashboardEvents {
  /** Stops listening and closes both connections. */
  close(): Promise<void>;
}

/**
 * Dashboard events shared by every replica on one database: `emit` sends a NOTIFY (after the
 * write it announces has committed) with a small payload (workspace, type, experiment id: far
 * below PostgreSQL's 8,000-byte limit), and one dedicated connection per replica LISTENs and hands
 * each notification, its own included, to the streams of that workspace. When that connection
 * drops, it reconnects and sends `runs` to every stream, since notifications meanwhile are lost.
 * A transaction-mode pooler (PgBouncer's `pool_mode = transaction`) cannot carry LISTEN: point
 * the server at PostgreSQL or a session-mode pool.
 */
export async function createPostgresEvents(options: PostgresEventsOptions): Promise<PostgresEvents> {
  const channel = eventsChannel(options.instanceId);
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const sender = new pg.Pool({ connectionString: options.url, max: 2 });
  sender.on('error', () => {});
  let closed = false;
  let listener: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let delay = RECONNECT_MIN_MS;

  const deliver = (payload: string | undefined) => {
    const parsed = parsePayload(payload);
    if (parsed !== undefined) emitter.emit(parsed.workspace, parsed.event);
  };

  const connect = async (): Promise<void> => {
    const client = new pg.Client({
      connectionString: options.url,
      application_name: listenerName(options.instanceId),
    });
    client.on('notification', (n) => {
      if (n.channel === channel) deliver(n.payload);
    });
    const lost = (why: string) => {
      if (listener !== client || closed) return;
      listener = undefined;
      options.log(`swanlog server: the event listening connection dropped (${why}); reconnecting`);
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      scheduleReconnect();
    };
    client.on('error', (error) => lost(error.message));
    client.on('end', () => lost('closed'));
    await client.connect();
    await client.query(`LISTEN ${channel}`);
    if (closed) {
      await client.end();
      return;
    }
    listener = client;
  };

  const scheduleReconnect = () => {
    retryTimer = setTimeout(() => {
      connect().then(
        () => {
          delay = RECONNECT_MIN_MS;
          // Events sent while no connection listened are lost: every stream reloads what it shows.
          for (const workspace of emitter.eventNames()) emitter.emit(workspace, { type: 'runs' });
        },
        (error: unknown) => {
          options.log(`swanlog server: cannot listen for events yet: ${String(error)}`);
          delay = Math.min(delay * 2, RECONNECT_MAX_MS);
          if (!closed) scheduleReconnect();
        },
      );
    }, delay);
    retryTimer.unref();
  };

  await connect();
  return {
    emit(workspace, event) {
      const payload = JSON.stringify(
        event.type === 'points' ? { w: workspace, t: 'points', id: event.id } : { w: workspace, t: 'runs' },
      );
      sender.query('SELECT pg_notify($1, $2)', [channel, payload]).catch((error: unknown) => {
        options.log(`swanlog server: cannot send an event: ${String(error)}`);
      });
    },
    subscribe(workspace: string, fn: DashboardListener) {
      emitter.on(workspace, fn);
      return () => emitter.off(workspace, fn);
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      const client = listener;
      listener = undefined;
      await Promise.all([client?.end(), sender.end()]);
    },
  };
}

function parsePayload(payload: string | undefined): { workspace: string; event: DashboardEvent } | undefined {
  if (payload === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch (error) {
    // A NOTIFY on our channel from something else: not ours to deliver.
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { w, t, id } = value as { w?: unknown; t?: unknown; id?: unknown };
  if (typeof w !== 'string') return undefined;
  if (t === 'runs') return { workspace: w, event: { type: 'runs' } };
  if (t === 'points' && typeof id === 'string') return { workspace: w, event: { type: 'points', id } };
  return undefined;
}
