import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BatchHeader, decodeBatch } from '@swanlog/protocol';
import { RunReader } from '@swanlog/store';
import { describeResult, type TempDir, tempDir } from './test-support/cli.js';
import {
  localSeries,
  type SyncServer,
  serverSeries,
  startCli,
  startSyncServer,
  syncEnv,
  writeRun,
} from './test-support/sync-server.js';

// Format version 2 (docs/format.md): sync sends chunks as stored to a server that accepts codec 2,
// and re-encodes them to codec 1 for a server that does not say it does (one older than format 2).

let server: SyncServer;
let tmp: TempDir;
before(async () => {
  server = await startSyncServer();
  tmp = tempDir('swanlog-sync-codecs-');
});
after(async () => {
  await server.close();
  tmp.remove();
});

interface CodecProxy {
  url: string;
  /** Chunk blobs seen in ingest bodies, by codec version. */
  seen: Map<number, number>;
  close: () => Promise<void>;
}

/**
 * A proxy in front of the real server. With `older`, it answers as a server older than format 2
 * does: GET /server without `chunkEncodings`, and an ingest holding a codec-2 chunk refused the way
 * such a server's chunk check refuses it.
 */
async function startCodecProxy(older: boolean): Promise<CodecProxy> {
  const seen = new Map<number, number>();
  const target = new URL(server.url);
  const proxy: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      if ((req.headers['content-type'] ?? '').includes('vnd.swanlog.batch')) {
        const { header, blobsAt } = decodeBatch(body);
        let at = blobsAt;
        let newer = false;
        for (const s of (header as BatchHeader).sources) {
          for (const c of s.chunks) {
            const codec = body[at]!;
            seen.set(codec, (seen.get(codec) ?? 0) + 1);
            newer ||= codec !== 1;
            at += c.bytes;
          }
        }
        if (older && newer) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              error: { code: 'INVALID_BATCH', message: 'chunk 0: unknown chunk codec version 2' },
            }),
          );
          return;
        }
      }
      const upstream = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (d: Buffer) => chunks.push(d));
          answer.on('end', () => {
            let out = Buffer.concat(chunks);
            if (older && req.method === 'GET' && req.url === '/api/v1/server' && answer.statusCode === 200) {
              const info = JSON.parse(out.toString('utf8')) as Record<string, unknown>;
              delete info.chunkEncodings;
              out = Buffer.from(JSON.stringify(info));
            }
            const headers = { ...answer.headers, 'content-length': String(out.length) };
            res.writeHead(answer.statusCode ?? 502, headers);
            res.end(out);
          });
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => proxy.close(() => resolve())),
  };
}

/** Codec versions of the chunks stored in a run directory. */
function localCodecs(dir: string): Set<number> {
  const reader = RunReader.open(dir);
  try {
    const out = new Set<number>();
    for (const w of reader.writerFiles()) {
      for (const r of w.db.prepare('SELECT data FROM chunks').all() as { data: Buffer }[])
        out.add(r.data[0]!);
    }
    return out;
  } finally {
    reader.close();
  }
}

describe('sync and chunk codecs', () => {
  for (const older of [false, true]) {
    test(
      older
        ? 'a server older than format 2 gets codec-1 chunks, and holds exactly the local series'
        : 'a server that accepts codec 2 gets the chunks as stored, and holds exactly the local series',
      async () => {
        const name = older ? 'to-older' : 'to-newer';
        const run = await writeRun({
          logdir: join(tmp.path, name),
          id: name,
          steps: 30_000,
          rewindTo: 12_000,
          keys: ['loss', 'acc', 'lr', 'epoch'],
        });
        assert.deepEqual([...localCodecs(run.dir)], [2], 'the run directory holds codec-2 chunks');
        const proxy = await startCodecProxy(older);
        try {
          const r = await startCli(['sync', run.dir], syncEnv({ url: proxy.url, key: server.key })).result;
          assert.equal(r.code, 0, describeResult(r));
          if (older) {
            assert.equal(proxy.seen.get(2) ?? 0, 0, 'a codec-2 chunk went to the older server');
            assert.ok((proxy.seen.get(1) ?? 0) > 0, 'no chunk went up');
          } else {
            assert.ok((proxy.seen.get(2) ?? 0) > 0, 'chunks were re-encoded for a server that accepts them');
            assert.equal(proxy.seen.get(1) ?? 0, 0, 'a chunk went up re-encoded');
          }
          assert.deepEqual(await serverSeries(server.client, run.id), localSeries(run.dir));
          assert.deepEqual([...localCodecs(run.dir)], [2], 'sync changed the run directory');
        } finally {
          await proxy.close();
        }
      },
    );
  }
});
