import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A gateway instance as its own operating-system process (`src/main.ts` under tsx), so it can be
 * killed with SIGKILL at any moment like a crashed server, and started again on the same port.
 * Its output is kept (the last lines) for a report when something goes wrong, and all of it in
 * `logFile` when one is given (one file across restarts).
 */
export interface GatewayProcess {
  readonly name: string;
  readonly url: string;
  readonly pid: number | undefined;
  running(): boolean;
  /** Starts it (again) and resolves when `/readyz` answers 200. */
  start(): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
  output(): string;
  /** Times it exited on its own (not through kill): a crash a supervisor would restart. */
  crashes(): number;
  /** Exited on its own and not started since. */
  crashed(): boolean;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export async function gatewayProcess(name: string, env: Record<string, string>, options: { readyTimeoutMs?: number; logFile?: string } = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited = true;
  let stopping = false;
  let crashes = 0;
  let log = '';
  const file = options.logFile ? createWriteStream(options.logFile) : undefined;
  file?.on('error', () => undefined);
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-20_000);
    file?.write(chunk);
  };

  async function waitReady(): Promise<void> {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
    while (Date.now() < deadline) {
      if (exited) throw new Error(`gateway ${name} exited while starting:\n${log}`);
      try {
        const answer = await fetch(`${url}/readyz`);
        if (answer.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((wait) => setTimeout(wait, 200));
    }
    throw new Error(`gateway ${name} was not ready in time:\n${log}`);
  }

  return {
    name,
    url,
    get pid() {
      return child?.pid;
    },
    running: () => !exited,
    async start() {
      if (!exited) return;
      const { DATABASE_URL: _ignored, ...inherited } = process.env;
      // node itself with tsx as a loader, not the tsx launcher: the launcher runs node as a child,
      // and a SIGKILL to the launcher would leave that child serving as an orphan.
      child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: root,
        env: { ...inherited, ...env, PORT: String(port), HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      exited = false;
      stopping = false;
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      child.once('exit', () => {
        exited = true;
        if (!stopping) crashes += 1;
      });
      await waitReady();
    },
    async kill(signal) {
      if (!child || exited) return;
      stopping = true;
      const gone = new Promise((done) => child!.once('exit', done));
      child.kill(signal);
      await gone;
    },
    output: () => log,
    crashes: () => crashes,
    crashed: () => exited && !stopping && crashes > 0,
  };
}
