import { setMaxListeners } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
// eslint-disable-next-line no-restricted-imports -- a gateway as a child process (a simulator), not the composition root the '**/gateway*' pattern guards
import { gatewayProcess, type GatewayProcess } from '../chaos/gateway-process.js';
import { startHttpChaosProxy, type HttpChaosProxy } from '../chaos/http-chaos-proxy.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../chaos/round-robin-proxy.js';
import { startShopifySimulator, type ShopifySimulator } from '../shopify/index.js';
import { seededRandom } from '../shopify/random.js';
import { checkAtp, type AtpCheck } from './atp-check.js';
import { planCatalogue, shopCatalogue, WAREHOUSES } from './catalogue.js';
import { createRunDatabase, runCli, type RunDatabase } from './environment.js';
import { runErpActivity } from './erp-activity.js';
import { faultActions } from './fault-actions.js';
import { planFaults, runFaults, type FaultEvent } from './faults.js';
import { gatewayClient, type GatewayClient } from './instance-client.js';
import { emptyLedger, judgeLedger } from './ledger.js';
import { generateLoad } from './load-generator.js';
import { driftPositions, healthFigures, orderToErp, webhookFigures, type DriftPosition } from './measurements.js';
import type { BlackFridayOptions } from './options.js';
import { secondsSeries } from './probe-figures.js';
import { balancerWebhooks, probeOrderVisibility, probeProducts, visibilityFigures } from './read-probes.js';
import { htmlReport, passed, type BlackFridayReport } from './report.js';
import { configuredRunErp, simulatedRunErp, type RunErp, type SaleRecord } from './run-erp.js';
import { startSyncWatch } from './sync-watch.js';
import { runWholesale } from './wholesale.js';

/**
 * The Black Friday run: the simulated store (Plus plan), the ERP (simulated over HTTP, or the
 * configured one) behind a chaos proxy, the run's own database (cut by the server), K gateway
 * processes behind a round-robin balancer that the store's webhooks and the read probes go
 * through. Then M minutes of orders, wholesale reservations, ERP activity, scheduled pushes,
 * faults and probes (sync latency, products reads, order visibility); a settle phase; the
 * verdict and report. `env` holds the ERP_* variables for `--erp configured`.
 */
/** Hidden units the settle stops waiting for once its two minutes are up (see passed()). */
const HIDDEN_UNITS_SETTLED = 5;

export async function runBlackFriday(options: BlackFridayOptions, log: (line: string) => void, stop: AbortSignal, env: Readonly<Record<string, string | undefined>> = {}): Promise<BlackFridayReport> {
  const startedAt = new Date();
  const runId = startedAt.getTime().toString(36).toUpperCase().slice(-5);
  const random = seededRandom(options.seed);
  const durationMs = Math.round(options.minutes * 60_000);
  const totalOrders = Math.round(options.ordersPerMinute * options.minutes);
  const ledger = emptyLedger();

  const closers: Array<() => Promise<unknown>> = [];
  let database: RunDatabase | undefined;
  const instances: GatewayProcess[] = [];
  try {
    const erp: RunErp = options.erp === 'configured' ? await configuredRunErp(env) : await simulatedRunErp(WAREHOUSES);
    closers.push(() => erp.close());
    const plan = planCatalogue({ skus: options.skus, totalOrders, runId, locations: erp.locations });
    await erp.seed(plan.all, plan.initial, ledger);
    const erpProxy: HttpChaosProxy = await startHttpChaosProxy({ target: erp.url, seed: options.seed });
    closers.push(() => erpProxy.close());
    const simulator: ShopifySimulator = await startShopifySimulator({
      plan: 'plus',
      seed: options.seed,
      webhookTimeScale: 0.001,
      // Shopify sends a busy shop's webhooks more in parallel: at a peak day's rate 10 in flight
      // cap them at 10 / the acknowledgement time; at the short run's rate 10 keep up.
      webhookConcurrency: options.ordersPerMinute > 2_000 ? 64 : 10,
      catalogue: shopCatalogue(plan),
    });
    closers.push(() => simulator.close());
    const webhooksAtBalancer = balancerWebhooks();
    const balancer: RoundRobinProxy = await startRoundRobinProxy([], { onAnswer: webhooksAtBalancer.onAnswer });
    closers.push(() => balancer.close());
    database = await createRunDatabase(options.databaseUrl);
    log(`database ${database.name} (${options.databaseUrl ? 'PostgreSQL, its connections cut by the server' : 'PGlite'}); ERP: ${erp.description}, through a chaos proxy; store ${simulator.adminUrl}; webhooks and probes via ${balancer.url}`);

    // Migrated and keyed before any instance starts (PGlite: one process at a time).
    await runCli(['migrate'], database.cliEnv);
    const keyOutput = await runCli(['api-keys', 'create', '--name', `black-friday-${runId}`, '--scopes', 'read,sync,reserve,admin'], database.cliEnv);
    const key = keyOutput.trim().split('\n').at(-1)!.trim();
    // The read probes' own key: their calls must not empty the wholesale apps' cost bucket, nor theirs.
    const probeKeyOutput = await runCli(['api-keys', 'create', '--name', `black-friday-probes-${runId}`, '--scopes', 'read'], database.cliEnv);
    const probeKey = probeKeyOutput.trim().split('\n').at(-1)!.trim();

    const gatewayEnv = {
      ...database.gatewayEnv,
      ...erp.gatewayEnv(erpProxy.url),
      SHOPIFY_SHOP: simulator.shopDomain,
      SHOPIFY_ACCESS_TOKEN: simulator.accessToken,
      SHOPIFY_API_SECRET: simulator.apiSecret,
      SHOPIFY_ADMIN_URL: simulator.adminUrl,
      PUBLIC_URL: balancer.url,
      ORDER_POLL_INTERVAL_SECONDS: '10',
      SYNC_INTERVAL_SECONDS: String(options.syncIntervalSeconds),
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
      // products(first: 100) with availability and lots costs about 500 points; every 2 s that is
      // 250 a second, beyond the default 50 a key's bucket restores. The run measures reads, not
      // the rate limit: restore fast enough for the probes.
      GRAPHQL_RESTORE_RATE: '1000',
    };
    await mkdir(options.reportDir, { recursive: true });
    for (let i = 0; i < options.instances; i++) {
      const name = String.fromCharCode(97 + i);
      instances.push(await gatewayProcess(name, gatewayEnv, { readyTimeoutMs: 300_000, logFile: join(options.reportDir, `gateway-${name}.log`) }));
    }
    balancer.setTargets(instances.map((instance) => instance.url));
    closers.push(async () => {
      for (const instance of instances) await instance.kill('SIGTERM').catch(() => {});
    });
    for (const instance of instances) await instance.start();
    log(`${instances.length} gateway instance(s) ready`);
    const client: GatewayClient = gatewayClient(() => instances, key);

    // The store gets its numbers before anyone buys.
    await client.request('mutation { pushInventory(input: { full: true }) { id status } }');
    const stocked = Date.now() + 120_000;
    while (Date.now() < stocked && plan.all.some((sku) => (simulator.state.level({ sku, location: plan.locations[0] })?.quantities.available ?? 0) <= 0)) await sleep(500);
    log(`store stocked; placing ${totalOrders} orders over ${options.minutes} min`);

    // ---- load phase
    const load = new AbortController();
    // Every planned fault, the wholesale apps, the ERP and the pushes wait on this one signal.
    setMaxListeners(100, load.signal);
    const onStop = () => load.abort();
    stop.addEventListener('abort', onStop, { once: true });
    const loadStarted = Date.now();
    const faultEvents: FaultEvent[] = [];
    const faults = runFaults(
      planFaults(options.faults, durationMs, options.faultMode, random),
      faultActions({ simulator, erpProxy, instances, cutter: database.cutter, random }),
      loadStarted,
      load.signal,
      faultEvents,
    );
    const syncWatch = startSyncWatch({ simulator, ledger });
    const wholesale = runWholesale({ client, erp, plan, ledger, random, runId, everyMs: 1_000, signal: load.signal, onReserved: (sku, location, units) => syncWatch.reserved(sku, location, units) });
    const productsProbe = probeProducts({ url: balancer.url, key: probeKey, everyMs: 2_000, signal: load.signal });
    const visibilityProbe = probeOrderVisibility({ url: balancer.url, key: probeKey, ledger, everyMs: 1_000, pollMs: 250, giveUpMs: 60_000, maxPending: 5, signal: load.signal });
    const erpActivity = runErpActivity({
      erp,
      plan,
      ledger,
      random,
      runId,
      everyMs: 2_000,
      shipAfterMs: 20_000,
      receiptUnits: Math.max(5, Math.round(totalOrders / 200)),
      syncWatch,
      signal: load.signal,
    });
    const pushes = (async () => {
      while (!load.signal.aborted) {
        await sleep(options.syncIntervalSeconds * 1_000, undefined, { signal: load.signal }).catch(() => {});
        if (!load.signal.aborted) await client.request('mutation { pushInventory(input: {}) { id } }').catch(() => {});
      }
    })();
    const inErpPerSecond: number[] = [];
    const counted = new Set<string>();
    let counting: Promise<void> | null = null;
    /** Accepted orders newly found in the ERP, per second of the run (one look at a time). */
    const countInErp = (): Promise<void> =>
      (counting ??= (async () => {
        const second = Math.floor((Date.now() - loadStarted) / 1000);
        const unseen = ledger.accepted.filter((order) => !counted.has(order.reference)).map((order) => order.reference);
        const found = await erp.salesOf(unseen).catch(() => new Map<string, SaleRecord>());
        for (const reference of found.keys()) {
          counted.add(reference);
          inErpPerSecond[second] = (inErpPerSecond[second] ?? 0) + 1;
        }
      })().finally(() => (counting = null)));
    // A supervisor's part (systemd, Kubernetes): an instance that exits on its own is started
    // again; each such exit is counted in the report (the instance-kill fault's are not).
    const restarting = new Set<string>();
    const supervise = () => {
      for (const instance of instances) {
        if (!instance.crashed() || restarting.has(instance.name)) continue;
        restarting.add(instance.name);
        log(`gateway ${instance.name} exited on its own (crash ${instance.crashes()}): starting it again, as a supervisor would`);
        void instance
          .start()
          .catch((error: unknown) => log(`gateway ${instance.name} did not start again: ${String(error).slice(0, 300)}`))
          .finally(() => restarting.delete(instance.name));
      }
    };
    const progress = setInterval(() => {
      supervise();
      void countInErp();
      const live = instances.filter((instance) => instance.running()).length;
      const active = faultEvents.filter((event) => event.endedAt === null).map((event) => event.fault);
      log(`${Math.round((Date.now() - loadStarted) / 1000)} s: placed ${ledger.accepted.length + ledger.refused}, accepted ${ledger.accepted.length}, in ERP ${counted.size}; instances up ${live}/${instances.length}; faults ${active.join(', ') || 'none'}`);
    }, 1_000);
    progress.unref();
    const timeline = await generateLoad({ simulator, plan, ledger, random, ordersPerMinute: options.ordersPerMinute, durationMs, runId, signal: load.signal });
    load.abort();
    stop.removeEventListener('abort', onStop);
    const [wholesaleStats, erpStats, productsFigures, visibilitySamples] = await Promise.all([wholesale, erpActivity, productsProbe, visibilityProbe, faults, pushes]);

    // ---- settle: faults off, every instance up, every order in the ERP, then Shopify equal to the ATP.
    simulator.state.clearFaults();
    erpProxy.setFaults({});
    for (const instance of instances) await instance.start();
    const settleStarted = Date.now();
    const settleDeadline = settleStarted + options.settleSeconds * 1_000;
    log(`load done; settling (at most ${options.settleSeconds} s)`);
    const waiting = async () => {
      await countInErp();
      return ledger.accepted.filter((order) => !order.cancelled && !counted.has(order.reference)).length;
    };
    while ((await waiting()) > 0 && Date.now() < settleDeadline && !stop.aborted) await sleep(1_000);
    const complete = (await waiting()) === 0;
    let drift: DriftPosition[] = [];
    let atp: AtpCheck | null = null;
    // Shopify equal to the ATP, and the ATP equal to what is really free: the ERP's shipments of
    // the last moments release their orders' pending units at the next allocation check (every
    // 60 s), so the settle gives that at least two minutes.
    const driftDeadline = Math.max(settleDeadline, Date.now() + 120_000);
    const minimumSettle = Date.now() + 120_000;
    await client.request('mutation { pushInventory(input: { full: true }) { id } }').catch(() => {});
    for (let round = 0; !stop.aborted; round++) {
      await sleep(2_000);
      drift = await driftPositions(client, simulator, plan.all, plan.locations).catch(() => [{ sku: '(unreadable)', location: '', atp: 0, shopify: 0 }]);
      // Drift cannot see an ATP held too low (Shopify agrees with it): compare it with the ledger.
      atp = await checkAtp(client, ledger, plan.all, plan.locations).catch((error: unknown) => {
        log(`ATP check failed: ${error instanceof Error ? error.message : String(error)}`);
        return null;
      });
      if ((drift.length === 0 && atp !== null && atp.mismatches === 0) || Date.now() > driftDeadline) break;
      // Past the minimum, a few units held back as unexplained falls (released after the order
      // window) do not keep the settle going.
      if (drift.length === 0 && atp !== null && atp.overPromisedUnits === 0 && atp.hiddenUnits <= HIDDEN_UNITS_SETTLED && Date.now() > minimumSettle) break;
      if (round % 5 === 4) await client.request('mutation { pushInventory(input: { full: true }) { id } }').catch(() => {});
    }
    clearInterval(progress);
    await countInErp();
    const sync = syncWatch.stop();
    const settleSeconds = Math.round((Date.now() - settleStarted) / 1000);

    // ---- verdict and figures, from the ERP's own records
    const facts = await erp.salesOf(
      ledger.accepted.map((order) => order.reference),
      new Set(ledger.accepted.filter((order) => order.cancelled).map((order) => order.reference)),
    );
    const verdict = judgeLedger(ledger, (reference) => facts.get(reference) ?? { sales: 0, cancelled: false });
    const webhooks = webhookFigures(simulator);
    const health = await healthFigures(client);
    const { ackMs, orderAckAt, ...webhookCounts } = webhooks;
    const report: BlackFridayReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      settings: { ...withoutUrl(options), database: options.databaseUrl ? 'postgres' : 'pglite' },
      verdict,
      passed: passed(verdict, drift.length, atp),
      drift: { positions: drift.length, sample: drift.slice(0, 20) },
      atp,
      settle: { seconds: settleSeconds, complete },
      erp: {
        kind: erp.kind,
        description: erp.description,
        // The ERP faults act at the chaos proxy in front of either ERP; only db-cut needs a server connection to cut.
        faultsNotApplied: !options.databaseUrl && options.faults.includes('db-cut') ? ['db-cut: the embedded database (no DATABASE_URL) has no connection to cut'] : [],
      },
      latency: {
        webhookAckMs: ackMs,
        webhookAckAtBalancerMs: webhooksAtBalancer.figures(),
        orderToErpMs: orderToErp(ledger, orderAckAt, (reference) => facts.get(reference)?.createdAt),
        syncSeconds: health.syncLatencySeconds,
        erpToShopifyMs: { receipts: sync.receipts, notShown: sync.notShown, samples: sync.samples, p50: sync.p50, p99: sync.p99, max: sync.max },
      },
      productsRead: { probes: productsFigures.probes, errors: productsFigures.errors, firstProblem: productsFigures.firstProblem, queryCost: productsFigures.queryCost, samples: productsFigures.samples, p50: productsFigures.p50, p99: productsFigures.p99, max: productsFigures.max, overLimit: productsFigures.overLimit, limitMs: 100 },
      orderVisibility: visibilityFigures(visibilitySamples, webhooksAtBalancer.orderAckAt, 5_000),
      health,
      webhooks: webhookCounts,
      wholesale: wholesaleStats,
      erpActivity: erpStats,
      gatewayCalls: { ...client.stats },
      errorRate: health.errorRate,
      manualInterventions: health.manualInterventions,
      instanceCrashes: instances.reduce((total, instance) => total + instance.crashes(), 0),
      faults: faultEvents.map((event) => ({
        fault: event.fault,
        detail: event.detail,
        startedAt: new Date(event.startedAt).toISOString(),
        endedAt: event.endedAt === null ? null : new Date(event.endedAt).toISOString(),
        atSecond: Math.round((event.startedAt - loadStarted) / 1000),
      })),
      timeline: {
        ...timeline,
        inErpPerSecond,
        productsReadMsPerSecond: secondsSeries(productsFigures.timed, loadStarted),
        erpToShopifyMsPerSecond: secondsSeries(sync.timed, loadStarted),
      },
    };
    await mkdir(options.reportDir, { recursive: true });
    await writeFile(join(options.reportDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(options.reportDir, 'report.html'), htmlReport(report));
    return report;
  } catch (error) {
    const tails = instances.map((instance) => `--- gateway ${instance.name}\n${instance.output().slice(-3_000)}`).join('\n');
    if (tails) log(tails);
    throw error;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    await database?.close(options.keepDatabase).catch((error: unknown) => log(`could not drop database ${database?.name}: ${String(error)}`));
  }
}

function withoutUrl(options: BlackFridayOptions): Omit<BlackFridayOptions, 'databaseUrl'> {
  const { databaseUrl: _url, ...rest } = options;
  return rest;
}
