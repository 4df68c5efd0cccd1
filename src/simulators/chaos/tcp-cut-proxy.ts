import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy between the gateways and PostgreSQL that can cut every connection at once, as a
 * failing network or a database failover does: `cut(refuseMs)` destroys every open connection
 * and refuses new ones for `refuseMs`. The pools must notice and reconnect on their own.
 */
export interface TcpCutProxy {
  readonly host: string;
  readonly port: number;
  /** Destroys every open connection and refuses new ones for `refuseMs` (default 0). Returns how many were cut. */
  cut(refuseMs?: number): number;
  readonly counts: Readonly<{ connections: number; cut: number; refused: number }>;
  close(): Promise<void>;
}

export async function startTcpCutProxy(options: { targetHost: string; targetPort: number; port?: number }): Promise<TcpCutProxy> {
  const open = new Set<Socket>();
  const counts = { connections: 0, cut: 0, refused: 0 };
  let refuseUntil = 0;
  const server: Server = createServer((client) => {
    if (Date.now() < refuseUntil) {
      counts.refused += 1;
      client.destroy();
      return;
    }
    counts.connections += 1;
    const upstream = createConnection({ host: options.targetHost, port: options.targetPort });
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    counts,
    cut(refuseMs = 0) {
      refuseUntil = Date.now() + refuseMs;
      const sockets = [...open];
      for (const socket of sockets) socket.destroy();
      open.clear();
      const cut = Math.ceil(sockets.length / 2);
      counts.cut += cut;
      return cut;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        open.clear();
        server.close(() => resolve());
      }),
  };
}
