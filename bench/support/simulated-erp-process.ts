/**
 * The simulated ERP's HTTP server in a process of its own (as `simulate-erp` runs it beside the
 * gateways), for bench/order-drain.bench.ts `http`: the gateway's CPU is then its own, and the
 * server's CPU and round trips are asked for over the IPC channel.
 *
 *   child:  npx tsx bench/support/simulated-erp-process.ts '<skus JSON>' '<warehouses JSON>'
 *   parent: startSimulatedErpProcess(skus, warehouses)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSimulatedErpServer } from '../../src/erp/simulated/simulated-erp-server.js';
import { stockedErp } from './orders-bench.js';

export interface ErpProcessStats {
  readonly roundTrips: number;
  /** The server process's CPU time so far, in microseconds. */
  readonly cpuMicros: number;
}

export interface SimulatedErpProcess {
  readonly url: string;
  stats(): Promise<ErpProcessStats>;
  close(): Promise<void>;
}

export async function startSimulatedErpProcess(skus: readonly string[], warehouses: readonly string[]): Promise<SimulatedErpProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [JSON.stringify(skus), JSON.stringify(warehouses)], { execArgv: ['--import', 'tsx', ...process.execArgv.filter((arg) => arg.startsWith('--cpu-prof'))] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`the simulated ERP process exited (${code}) before it listened`)));
  });
  return {
    url,
    stats: () =>
      new Promise((resolve) => {
        child.once('message', (message) => resolve(message as ErpProcessStats));
        child.send('stats');
      }),
    close: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send('close');
      }),
  };
}

if (process.send && process.argv[2]) {
  const erp = stockedErp(JSON.parse(process.argv[2]) as string[], JSON.parse(process.argv[3]!) as string[]);
  const server = await startSimulatedErpServer({ erp });
  process.on('message', (message) => {
    if (message === 'stats') {
      const cpu = process.cpuUsage();
      process.send!({ roundTrips: erp.roundTrips(), cpuMicros: cpu.user + cpu.system } satisfies ErpProcessStats);
    } else if (message === 'close') {
      // process.exit, not a natural end: --cpu-prof writes its profile on exit either way.
      void server.close().then(() => process.exit(0));
    }
  });
  process.send({ url: server.url });
}
