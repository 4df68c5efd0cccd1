import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../shared/errors.js';

/**
 * PGlite is PostgreSQL compiled to WebAssembly inside one process: it has no postmaster and no
 * lock of its own, so a second process opening the same directory corrupts it or dies with a raw
 * `RuntimeError: Aborted()`. This lock file (holding the owner's pid) makes "one process per
 * embedded database" a rule the code keeps: the second opener is refused with a clear message.
 * A lock left by a process that no longer runs (killed with SIGKILL) is taken over.
 */
export class EmbeddedDatabaseInUseError extends AppError {
  constructor(
    readonly dataDir: string,
    readonly ownerPid: number,
  ) {
    super(
      'EMBEDDED_DATABASE_IN_USE',
      `The embedded database in ${dataDir} is in use by another Stockbridge process (pid ${ownerPid}); ` +
        'use the GraphQL API of the running gateway for this, stop the gateway first, or set DATABASE_URL to share a PostgreSQL.',
      { dataDir, ownerPid },
    );
  }
}

export interface EmbeddedDatabaseLock {
  release(): void;
}

const LOCK_FILE = 'stockbridge.pid';

/**
 * Directories this process holds. A lock file naming our own pid that is not in this set was
 * left by an earlier process that had the same pid (pid 1 in a restarted container): stale.
 */
const heldHere = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock of `dataDir` for this process, or throws `EmbeddedDatabaseInUseError` naming the
 * live owner (this process included: the same directory is never opened twice at once).
 */
export function lockEmbeddedDatabase(dataDir: string): EmbeddedDatabaseLock {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      // 'wx' fails when the file exists: creation is the atomic test-and-set.
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      heldHere.add(path);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          heldHere.delete(path);
          if (readOwner(path) === process.pid) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(path);
      const live = owner !== null && (owner === process.pid ? heldHere.has(path) : isRunning(owner));
      if (live) throw new EmbeddedDatabaseInUseError(dataDir, owner);
      // The owner is gone (or the file is empty/garbled): remove it and try once more; if another
      // process takes it between the removal and our create, our second 'wx' sees its pid.
      rmSync(path, { force: true });
    }
  }
  const owner = readOwner(path);
  throw new EmbeddedDatabaseInUseError(dataDir, owner ?? 0);
}
