import Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeChunk } from '@swanlog/store';
const dir = process.argv[2];
const chunks = [];
for (const f of readdirSync(join(dir, 'writers'))) {
  const db = new Database(join(dir, 'writers', f), { readonly: true });
  for (const r of db.prepare('select data from chunks').all()) chunks.push(r.data);
  db.close();
}
const ns = chunks.map((c) => c.readUInt32LE(4));
const hist = {};
for (const n of ns) hist[n] = (hist[n] ?? 0) + 1;
console.log('chunks', chunks.length, 'points', ns.reduce((a, b) => a + b, 0), 'sizes', Object.entries(hist).sort((a,b)=>b[1]-a[1]).slice(0,6));
const enc = {};
for (const c of chunks) { const k = `v${c[0]} e${c[2]} f${c[1]}`; enc[k] = (enc[k] ?? 0) + 1; }
console.log(enc);
for (let r = 0; r < 5; r++) {
  const t0 = performance.now();
  for (const c of chunks) decodeChunk(c);
  console.log('decode all ms', (performance.now() - t0).toFixed(0));
}
