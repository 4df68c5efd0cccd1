import postgres from 'postgres';

/**
 * Cuts every connection to one PostgreSQL database at once, as a failover or a DBA does: the
 * server terminates the backends (the clients read 57P01 and a closed socket) and refuses new
 * connections to the database for `refuseMs` (`ALLOW_CONNECTIONS false`: 55000, "not currently
 * accepting connections"). The pools must notice and reconnect on their own.
 *
 * Done by the server rather than by a TCP proxy in between: a proxy in the simulation's own
 * process copied every byte of three gateways' database traffic through one event loop (a sixth
 * of the process's time at 10,000 orders a minute), which slowed the store's webhooks it serves
 * from the same loop.
 */
export interface DatabaseCutter {
  /** Terminates every connection to the database and refuses new ones for `refuseMs`; resolves with how many were cut. */
  cut(refuseMs?: number): Promise<number>;
  readonly counts: Readonly<{ cut: number; cuts: number }>;
  /** Lets connections in again (if a cut is still refusing them) and closes the admin connection. */
  close(): Promise<void>;
}

/** `adminUrl`: a connection to another database of the same server (the cut never hits it). */
export function createDatabaseCutter(options: { adminUrl: string; database: string }): DatabaseCutter {
  const admin = postgres(options.adminUrl, { max: 1, onnotice: () => {} });
  const ident = `"${options.database.replaceAll('"', '""')}"`;
  const counts = { cut: 0, cuts: 0 };
  let reopen: NodeJS.Timeout | null = null;
  let refusing: Promise<unknown> = Promise.resolve();

  const allow = () => admin.unsafe(`alter database ${ident} allow_connections true`);

  return {
    counts,
    async cut(refuseMs = 0) {
      await refusing;
      if (refuseMs > 0) await admin.unsafe(`alter database ${ident} allow_connections false`);
      const [row] = await admin<{ cut: number }[]>`
        select count(*)::int as cut from (
          select pg_terminate_backend(pid) from pg_stat_activity where datname = ${options.database} and pid <> pg_backend_pid()) t`;
      const cut = row?.cut ?? 0;
      counts.cut += cut;
      counts.cuts += 1;
      if (refuseMs > 0) {
        refusing = new Promise<void>((resolve) => {
          reopen = setTimeout(() => {
            reopen = null;
            allow().then(
              () => resolve(),
              () => resolve(),
            );
          }, refuseMs);
        });
      }
      return cut;
    },
    async close() {
      if (reopen) {
        clearTimeout(reopen);
        reopen = null;
        await allow().catch(() => undefined);
      }
      await refusing.catch(() => undefined);
      await admin.end({ timeout: 5 });
    },
  };
}
