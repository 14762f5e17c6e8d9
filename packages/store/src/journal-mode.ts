import { readFileSync, realpathSync } from 'node:fs';

/** File systems whose locking or shared memory cannot carry SQLite's WAL mode safely. */
const CLUSTER_FS =
  /^(nfs|nfs4|lustre|gpfs|cifs|smb3|smbfs|beegfs|ceph|fuse\.ceph|glusterfs|fuse\.glusterfs|9p|panfs|afs)$/;

export type JournalMode = 'wal' | 'delete';

/**
 * WAL on local disks; rollback journal on cluster file systems, where WAL's shared memory is not
 * shared between hosts. `SWANLOG_NO_WAL=1` forces the cluster-safe mode (tests use it).
 */
export function journalModeFor(dir: string, env: NodeJS.ProcessEnv = process.env): JournalMode {
  if (env.SWANLOG_NO_WAL === '1' || env.SWANLOG_NO_WAL === 'true') return 'delete';
  const fsType = fileSystemOf(dir);
  return fsType !== undefined && CLUSTER_FS.test(fsType) ? 'delete' : 'wal';
}

/** The type of the mount holding `dir`, read from /proc/self/mounts (undefined off Linux). */
export function fileSystemOf(dir: string): string | undefined {
  let mounts: string;
  let real: string;
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8');
    real = realpathSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let best: { point: string; type: string } | undefined;
  for (const line of mounts.split('\n')) {
    const [, rawPoint, type] = line.split(' ');
    if (rawPoint === undefined || type === undefined) continue;
    const point = rawPoint.replace(/\\040/g, ' ');
    const inside = real === point || real.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (inside && (best === undefined || point.length > best.point.length)) best = { point, type };
  }
  return best?.type;
}
