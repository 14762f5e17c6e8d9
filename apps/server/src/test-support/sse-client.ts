/** One server-sent event as the dashboard receives it. */
export interface ReceivedEvent {
  event: string;
  data: string;
}

export interface EventClient {
  status: number;
  contentType: string | null;
  /** Resolves with the first event (already received or future) that `match` accepts; consumes it. */
  next(match: (e: ReceivedEvent) => boolean): Promise<ReceivedEvent>;
  /** Every event received so far, consumed or not, in order. */
  all(): ReceivedEvent[];
  /** Resolves when the server ends the stream (or `close` is called). */
  ended: Promise<void>;
  close(): void;
}

/** Opens `GET url` as an event stream with fetch and parses `event:`/`data:` blocks as they arrive. */
export async function openEvents(url: string, headers: Record<string, string> = {}): Promise<EventClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const received: ReceivedEvent[] = [];
  const history: ReceivedEvent[] = [];
  let markEnded = () => {};
  const ended = new Promise<void>((resolve) => {
    markEnded = resolve;
  });
  const waiters: { match: (e: ReceivedEvent) => boolean; resolve: (e: ReceivedEvent) => void }[] = [];
  const deliver = () => {
    for (let w = 0; w < waiters.length; w++) {
      const at = received.findIndex(waiters[w]!.match);
      if (at === -1) continue;
      const [event] = received.splice(at, 1);
      waiters.splice(w, 1)[0]!.resolve(event!);
      w--;
    }
  };
  if (res.body !== null && res.ok) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const readAll = async () => {
      let buffer = '';
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          if ((error as Error).name === 'AbortError') return;
          throw error;
        }
        if (chunk.done) return;
        buffer += chunk.value;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (block.split('\n').every((l) => l.startsWith(':'))) continue;
          received.push({ event, data });
          history.push({ event, data });
        }
        deliver();
      }
    };
    void readAll().finally(markEnded);
  } else markEnded();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    next: (match) =>
      new Promise((resolve) => {
        waiters.push({ match, resolve });
        deliver();
      }),
    all: () => [...history],
    ended,
    close: () => abort.abort(),
  };
}
