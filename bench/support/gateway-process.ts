/**
 * The gateway in a process of its own, for benchmarks that measure it from outside over HTTP
 * (the clients' CPU is not the gateway's event loop). `startGatewayProcess(env)` forks this file;
 * the child starts the whole gateway with `env` (the demo unless configured otherwise), creates
 * an API key, optionally seeds positions, and reports its GraphQL URL and key over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface GatewayProcess {
  readonly graphqlUrl: string;
  readonly key: string;
  readonly pid: number;
  /** Sends one message to the child and waits for its answer (see `handle` below). */
  ask<T>(message: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

export interface GatewayProcessOptions {
  /** Environment of the gateway (added to this process's). */
  readonly env: Record<string, string>;
  readonly scopes: readonly string[];
  /** Positions (sku at location WH1 or given) with a large on-hand, for reservation benchmarks. */
  readonly seedPositions?: readonly { sku: string; location: string; onHand: number }[];
  /** Wait for the start-up work (catalogue fill, first reconcile) before reporting ready. */
  readonly waitReady?: boolean;
}

interface ReadyMessage {
  type: 'ready';
  graphqlUrl: string;
  key: string;
}

export async function startGatewayProcess(options: GatewayProcessOptions): Promise<GatewayProcess> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--child'], {
    // BENCH_CPU_PROF=dir: the gateway writes a CPU profile there when it stops (node --cpu-prof).
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<number, (value: unknown) => void>();
  let nextId = 1;
  const ready = new Promise<ReadyMessage>((resolve, reject) => {
    child.on('message', (raw) => {
      const message = raw as { type: string; id?: number; value?: unknown; error?: string };
      if (message.type === 'ready') resolve(message as unknown as ReadyMessage);
      else if (message.type === 'failed') reject(new Error(`gateway process failed: ${message.error}`));
      else if (message.type === 'answer' && message.id !== undefined) pending.get(message.id)?.(message.value);
    });
    child.once('exit', (code) => reject(new Error(`gateway process exited (${code}) before it was ready`)));
  });
  child.send({ type: 'start', scopes: options.scopes, seedPositions: options.seedPositions ?? [], waitReady: options.waitReady ?? false });
  const { graphqlUrl, key } = await ready;
  return {
    graphqlUrl,
    key,
    pid: child.pid!,
    ask<T>(message: Record<string, unknown>) {
      const id = nextId++;
      return new Promise<T>((resolve) => {
        pending.set(id, (value) => resolve(value as T));
        child.send({ ...message, type: 'ask', id });
      });
    },
    async stop() {
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Child side: the gateway itself. */
async function runChild(): Promise<void> {
  const { loadConfig } = await import('../../src/config.js');
  const { startGateway } = await import('../../src/gateway.js');
  const { createLogger } = await import('../../src/logger.js');
  const { inventoryLevels } = await import('../../src/db/schema/index.js');
  const { availableToPromise } = await import('../../src/inventory/read-model/atp-formula.js');
  const send = (message: Record<string, unknown>) => process.send!(message);

  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  process.on('message', (raw) => {
    const message = raw as { type: string; id?: number; what?: string; scopes?: string[]; seedPositions?: { sku: string; location: string; onHand: number }[]; waitReady?: boolean };
    void (async () => {
      try {
        if (message.type === 'start') {
          // BENCH_SHOPIFY_SIMULATOR=1 (a real ERP, no store): the Shopify simulator in this process, empty.
          if (process.env.BENCH_SHOPIFY_SIMULATOR === '1') {
            const { startShopifySimulator } = await import('../../src/simulators/shopify/index.js');
            const simulator = await startShopifySimulator({ plan: 'standard' });
            Object.assign(process.env, {
              SHOPIFY_SHOP: simulator.shopDomain,
              SHOPIFY_ACCESS_TOKEN: simulator.accessToken,
              SHOPIFY_API_SECRET: simulator.apiSecret,
              SHOPIFY_ADMIN_URL: simulator.adminUrl,
            });
          }
          const config = loadConfig(process.env);
          gateway = await startGateway(config, createLogger(config.logLevel));
          if (message.waitReady) await gateway.services.inventory.whenReady();
          const seeds = message.seedPositions ?? [];
          for (let i = 0; i < seeds.length; i += 500) {
            await gateway.database.db.insert(inventoryLevels).values(
              seeds.slice(i, i + 500).map(({ sku, location, onHand }) => {
                const terms = { onHand, allocated: 0, safetyStock: 0, wholesaleCommitted: 0, reserved: 0, pendingOrders: 0, unexplainedShopifyDrop: 0, expiringLotUnits: 0 };
                return { shop: gateway!.deps.shop, sku, location, ...terms, availableToPromise: availableToPromise(terms) };
              }),
            );
          }
          const { key } = await gateway.services.auth.apiKeys.create({ name: 'bench', scopes: message.scopes ?? ['read'] });
          send({ type: 'ready', graphqlUrl: gateway.graphqlUrl, key });
        } else if (message.type === 'ask' && message.what === 'erpRoundTrips') {
          // The demo's simulated ERP counts every call it answers.
          send({ type: 'answer', id: message.id, value: gateway?.demo ? gateway.demo.erp.roundTrips() : null });
        } else if (message.type === 'ask' && message.what === 'cpuUsage') {
          send({ type: 'answer', id: message.id, value: process.cpuUsage() });
        } else if (message.type === 'stop') {
          await gateway?.close();
          process.exit(0);
        }
      } catch (error) {
        send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        process.exit(1);
      }
    })();
  });
}

if (process.argv.includes('--child')) void runChild();
