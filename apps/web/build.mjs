// Bundles the dashboard into dist/public: index.html + assets/app-<hash>.js + assets/app-<hash>.css,
// which `swanlog server` and `swanlog watch` serve (assets with a long cache life, hence the hash).
// Everything is local: no CDN, no external font or request.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist', 'public');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
const result = await build({
  entryPoints: { app: join(here, 'src', 'main.ts') },
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const asset = (ext) => {
  const name = outputs.find((f) => f.startsWith('app-') && f.endsWith(ext));
  if (!name) throw new Error(`esbuild wrote no app${ext}`);
  return `/assets/${name}`;
};
// The first API requests (src/early.ts) start while the page is parsed: inlined, not one more file.
const early = await build({
  entryPoints: [join(here, 'src', 'early.ts')],
  bundle: true,
  write: false,
  format: 'iife',
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const earlyCode = early.outputFiles[0].text.trim();
if (earlyCode.includes('</script')) throw new Error('early.ts must not contain </script');
const html = readFileSync(join(here, 'index.html'), 'utf8')
  .replace('/* early */', () => earlyCode)
  .replace('/assets/app.js', asset('.js'))
  .replace('/assets/app.css', asset('.css'));
writeFileSync(join(out, 'index.html'), html);
