import { createServer, createConnection, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpCutProxy, type TcpCutProxy } from '../../../src/simulators/chaos/tcp-cut-proxy.js';

/** An echo server behind the proxy: bytes go through, a cut closes them, new ones are refused for a while. */
describe('TCP cut proxy', () => {
  let echo: Server;
  let proxy: TcpCutProxy;
  beforeAll(async () => {
    echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
    proxy = await startTcpCutProxy({ targetHost: '127.0.0.1', targetPort: (echo.address() as AddressInfo).port });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => echo.close(resolve));
  });

  const connect = () =>
    new Promise<Socket>((resolve, reject) => {
      const socket = createConnection({ host: proxy.host, port: proxy.port }, () => resolve(socket));
      socket.once('error', reject);
    });
  const echoOf = (socket: Socket, text: string) =>
    new Promise<string>((resolve) => {
      socket.once('data', (data) => resolve(data.toString()));
      socket.write(text);
    });
  const closed = (socket: Socket) => new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));

  it('forwards bytes, cuts every open connection, refuses new ones for a while, then lets them through', async () => {
    const first = await connect();
    const second = await connect();
    expect(await echoOf(first, 'ping')).toBe('ping');
    const gone = Promise.all([closed(first), closed(second)]);
    expect(proxy.cut(300)).toBe(2);
    expect(await gone).toEqual([true, true]);

    // Refused: closed by the proxy (possibly before the client saw itself connected).
    const refused = createConnection({ host: proxy.host, port: proxy.port });
    refused.on('error', () => {});
    expect(await closed(refused)).toBe(true);
    expect(proxy.counts.refused).toBe(1);

    await new Promise((wait) => setTimeout(wait, 350));
    const later = await connect();
    expect(await echoOf(later, 'again')).toBe('again');
    later.destroy();
  });
});
