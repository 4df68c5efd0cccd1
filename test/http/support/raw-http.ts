import { connect, type Socket } from 'node:net';

/**
 * A client that speaks HTTP by hand, for what fetch cannot do: send headers and stall, send
 * garbage, or see an answer arrive before the body was sent.
 */
export interface RawConnection {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves once the server closed the connection, with everything it sent. */
  readonly closed: Promise<string>;
  /** Resolves once the received text matches `pattern`. */
  waitFor(pattern: RegExp): Promise<string>;
  write(text: string): void;
  end(): void;
}

export async function openRaw(baseUrl: string): Promise<RawConnection> {
  const url = new URL(baseUrl);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let data = '';
  const waiters: Array<{ pattern: RegExp; resolve: (text: string) => void }> = [];
  socket.on('data', (chunk: Buffer) => {
    data += chunk.toString('utf8');
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(data)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(data);
      }
    }
  });
  socket.on('error', () => {});
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(data)));
  return {
    socket,
    received: () => data,
    closed,
    waitFor(pattern) {
      if (pattern.test(data)) return Promise.resolve(data);
      return new Promise((resolve) => waiters.push({ pattern, resolve }));
    },
    write: (text) => void socket.write(text),
    end: () => socket.destroy(),
  };
}

/** The JSON body of a raw HTTP/1.1 answer (Content-Length framed). */
export function bodyOf(answer: string): unknown {
  const start = answer.indexOf('\r\n\r\n');
  return JSON.parse(answer.slice(start + 4).trim());
}
