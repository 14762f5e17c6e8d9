// Client and server CPU side by side, per time slice, from the two profiles bench/profile-sync.mjs
// --prof <dir> writes:  node bench/profile-timeline.mjs <dir>/client-0.cpuprofile <dir>/server.cpuprofile [slice ms]
// Each column: busy ms in the slice and the three functions that took most of it.
import { readFileSync } from 'node:fs';

const bins = (file, t0, width) => {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  let t = p.startTime;
  const out = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    const n = byId.get(p.samples[i]);
    if (n.callFrame.functionName === '(idle)') continue;
    const b = Math.floor((t - t0) / 1000 / width);
    const top = out.get(b) ?? new Map();
    const name = n.callFrame.functionName || '(anon)';
    top.set(name, (top.get(name) ?? 0) + p.timeDeltas[i] / 1000);
    out.set(b, top);
  }
  return { out, start: p.startTime, end: p.endTime };
};
const c = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const t0 = c.startTime;
const width = Number(process.argv[4] ?? 100);
const cl = bins(process.argv[2], t0, width);
const sv = bins(process.argv[3], t0, width);
const last = Math.ceil((cl.end - t0) / 1000 / width);
const fmt = (m) => {
  if (!m) return '-'.padEnd(60);
  const tot = [...m.values()].reduce((a, b) => a + b, 0);
  const top = [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, v]) => `${k.slice(0, 14)}:${v.toFixed(0)}`)
    .join(' ');
  return `${tot.toFixed(0).padStart(3)} ${top}`.padEnd(60);
};
for (let b = 0; b <= last; b++)
  console.log(String(b * width).padStart(5), fmt(cl.out.get(b)), '|', fmt(sv.out.get(b)));
