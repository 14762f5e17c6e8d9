import { connect } from 'node:net';

/** A response read off the socket: status and the raw body text (headers dropped). */
export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/**
 * Sends `request line + headers` byte for byte over a socket (no URL normalisation, unlike fetch,
 * so `..`, backslashes and NUL reach the server as written) and reads until the server closes.
 */
export function rawRequest(
  url: string,
  method: string,
  path: string,
  timeoutMs = 5000,
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${method} ${JSON.stringify(path)}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => {
      socket.write(
        Buffer.concat([
          Buffer.from(`${method} `, 'latin1'),
          Buffer.from(path, 'latin1'),
          Buffer.from(` HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`, 'latin1'),
        ]),
      );
    });
    socket.on('data', (d) => parts.push(d));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(parts).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: split === -1 ? '' : text.slice(split + 4) });
    });
  });
}
