// Stands in for `better-sqlite3` inside the offline bundle (scripts/bundle.mjs). The bundle
// ships one compiled better_sqlite3.node per Node.js ABI in ../native/ (relative to the bundled
// file) and has no install step, so every Database is opened with the binary of the running
// Node.js, passed through better-sqlite3's `nativeBinding` option.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Base from 'better-sqlite3-original';

let addon;
function nativeAddon() {
  if (addon) return addon;
  const abi = process.versions.modules;
  const dir = fileURLToPath(new URL('../native/', import.meta.url));
  const file = `${dir}better_sqlite3-abi${abi}.node`;
  if (!existsSync(file)) {
    const have = existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.node'))
          .join(', ')
      : 'none';
    const error = new Error(
      `NATIVE_BINDING_MISSING: no better-sqlite3 binary for Node.js ${process.version} (ABI ${abi}) in ${dir} (have: ${have}). Hint: run this bundle with Node.js 20 or 24.`,
    );
    error.code = 'NATIVE_BINDING_MISSING';
    throw error;
  }
  addon = createRequire(import.meta.url)(file);
  return addon;
}

export default class Database extends Base {
  constructor(filename, options) {
    super(filename, { ...options, nativeBinding: options?.nativeBinding ?? nativeAddon() });
  }
}
