import Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeXor32 as a } from '/tmp/prof/xor-old.js';
import { decodeXor32 as b } from '/work/main/packages/store/dist/xor-codec.js';
const chunks = [];
for (const dir of process.argv.slice(2)) for (const f of readdirSync(join(dir, 'writers'))) {
  const db = new Database(join(dir, 'writers', f), { readonly: true });
  for (const r of db.prepare('select data from chunks').all()) if (r.data[2] === 2) chunks.push(r.data);
  db.close();
}
const outs = chunks.map((c) => [new Uint32Array(c.readUInt32LE(4)), new Uint32Array(c.readUInt32LE(4))]);
let diff = 0;
for (let i = 0; i < chunks.length; i++) { const c = chunks[i]; const end = 16 + c.readUInt32LE(12);
  a(c, 16, end, outs[i][0].length, outs[i][0]); b(c, 16, end, outs[i][1].length, outs[i][1]);
  for (let j = 0; j < outs[i][0].length; j++) if (outs[i][0][j] !== outs[i][1][j]) diff++; }
console.log('chunks', chunks.length, 'diff', diff);
for (let r = 0; r < 6; r++) for (const [name, f] of [['old', a], ['new', b]]) {
  const t0 = performance.now();
  for (let i = 0; i < chunks.length; i++) { const c = chunks[i]; f(c, 16, 16 + c.readUInt32LE(12), outs[i][0].length, outs[i][0]); }
  if (r > 2) console.log(name, (performance.now() - t0).toFixed(0));
}
