import type { FastifyInstance } from 'fastify';
import { createAlertSender, type AlertSender } from './alerts/alert-sender.js';
import { createAlertsRepository } from './alerts/alerts.repository.js';
import { createAuthModule } from './auth/auth.module.js';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { DEMO_FINISH_WORDS, startDemoEnvironment, type DemoEnvironment } from './demo/demo-environment.js';
import type { HttpRoute, ModuleDeps } from './domain-module.js';
import type { ErpConnector } from './erp/erp-connector.js';
import { TrytonErpConnector } from './erp/tryton/tryton-erp-connector.js';
import { SimulatedErpConnector } from './erp/simulated/simulated-erp-connector.js';
import { remoteSimulatedErpWire } from './erp/simulated/simulated-erp-remote.js';
import { createRequestLoaders, servicesOf, type AppServices } from './http/graphql-context.js';
import { buildResolvers } from './http/graphql-schema.js';
import { createHttpServer, createMetricsServer } from './http/server.js';
import { createWebhookTopicRegistry, type WebhookTopicRegistry } from './http/webhook-topics.js';
import { createFulfilmentsModule } from './fulfilments/fulfilments.module.js';
import { createHealthModule } from './health/health.module.js';
import { createInventoryModule } from './inventory/inventory.module.js';
import { createJobsModule } from './jobs/jobs.module.js';
import type { JobsSchedulerPort } from './jobs/jobs.service.js';
import type { Logger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';
import { contentDigestOf } from './orders/shopify-order.payloads.js';
import type { OrderSnapshot } from './orders/order.models.js';
import { createOperatorActionsModule } from './operator-actions/operator-actions.module.js';
import { createOrdersModule } from './orders/orders.module.js';
import { createPrivacyModule } from './privacy/privacy.module.js';
import { createReservationsModule } from './reservations/reservations.module.js';
import type { JobDefinition } from './scheduler/job.js';
import { createScheduler, type Scheduler } from './scheduler/scheduler.js';
import { AppError } from './shared/errors.js';
import { createShopifyAppModule } from './shopify-app/shopify-app.module.js';
import { AdminApiShopifyClient } from './shopify/admin-api-shopify-client.js';
import { createShopifyCredentials } from './shopify/credentials/credentials.js';
import { createSwitchesModule } from './switches/switches.module.js';
import { createSwitchesRepository } from './switches/switches.repository.js';
import { createSwitchesService } from './switches/switches.service.js';
import { createSyncModule } from './sync/sync.module.js';

export const VERSION = '0.1.0';

export interface Gateway {
  readonly url: string;
  /** The demo's simulated ERP and store, when the gateway runs without configuration. */
  readonly demo: DemoEnvironment | undefined;
  readonly deps: ModuleDeps;
  readonly graphqlUrl: string;
  /** Where Prometheus scrapes: `${url}/metrics`, or the METRICS_PORT server's. */
  readonly metricsUrl: string;
  readonly database: Database;
  /** Each module's services under its name (`services.inventory`, `services.auth.apiKeys`, …). */
  readonly services: AppServices;
  /** The domain modules, in the order they were built and started. */
  readonly modules: GatewayModules;
  readonly http: FastifyInstance;
  /** Runs the modules' jobs when SCHEDULER=on; idle (runNow only) when off. */
  readonly scheduler: Scheduler;
  /** Stops accepting requests, waits for in-flight ones and running jobs, closes the database. */
  close(): Promise<void>;
}

/**
 * The composition root: config -> database -> adapters -> services -> HTTP (+ scheduler).
 * The only place that picks implementations; everything below receives its dependencies.
 */
export interface GatewayOverrides {
  /** An already-open database (tests); the gateway takes ownership and closes it. */
  database?: Database;
  /** An ERP connector to use instead of the configured one (tests). */
  erp?: ErpConnector;
  /** Skip the demo's simulated store and ERP even without configuration (tests supply their own). */
  noDemo?: boolean;
  /** Extra jobs for the scheduler (tests). */
  jobs?: JobDefinition[];
  /** Extra HTTP routes (tests use them to hold a request in flight). */
  routes?: HttpRoute[];
  /** Millisecond clock of the GraphQL cost buckets (tests move time instead of sleeping). */
  graphqlClock?: () => number;
}

export async function startGateway(config: Config, log: Logger, overrides: GatewayOverrides = {}): Promise<Gateway> {
  const database = overrides.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const closers: Array<() => Promise<void>> = [() => database.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        log.error({ err: error }, 'error during shutdown');
      }
    }
  };

  try {
    await database.migrate();
    log.info({ database: database.kind }, 'database migrated');

    const composed = await composeModuleDeps(config, log, database, overrides);
    closers.push(() => composed.close());
    const { deps, demo } = composed;
    const { metrics } = deps;

    // Every alert is also stored (deduplicated, acknowledged: `alerts`, the alerts CLI).
    const alerts = createAlertSender({ log, webhookUrl: config.alertWebhookUrl, store: createAlertsRepository(database.db) });
    closers.push(() => alerts.close());

    // Every module's webhook topics, one registry: `POST /webhooks/shopify` dispatches on it.
    const webhookRegistry = createWebhookTopicRegistry();
    let listeningUrl: string | null = null;
    // Before the modules: the jobs module serves its status; the modules' jobs are registered below.
    const scheduler = createScheduler({ database, log, metrics, now: deps.now });
    const modules = createDomainModules(deps, {
      scheduler,
      alerts,
      webhookRegistry,
      defaultAbbreviations: demo ? DEMO_FINISH_WORDS : undefined,
      // The demo subscribes its simulated store to this gateway's own address once it listens.
      publicUrl: () => config.publicUrl ?? (demo ? listeningUrl : null),
      registerWebhooksAtStart: Boolean(demo) || Boolean(config.publicUrl),
    });
    for (const module of modules) {
      for (const [topic, handler] of Object.entries(module.webhookTopics ?? {})) webhookRegistry.register(topic, handler);
    }
    // Stopped in reverse order, after HTTP (pushed before it) and before the database.
    closers.push(async () => {
      for (const module of [...modules].reverse()) {
        try {
          await module.stop?.();
        } catch (error) {
          log.error({ err: error, module: module.name }, 'error stopping a module');
        }
      }
    });
    const services = servicesOf(modules);

    const serverInfo = () => ({ name: 'stockbridge', version: VERSION, database: database.kind, erpConnector: config.erp.connector, shop: deps.shop });

    // After the modules, so every job is registered; started once HTTP listens (SCHEDULER=on).
    for (const job of [...(overrides.jobs ?? []), ...modules.flatMap((module) => module.jobs ?? [])]) scheduler.register(job);

    const http = await createHttpServer({
      // A job run abandoned while its code still runs shows in /healthz (degraded, not failed) and
      // /readyz; /readyz also says when each side of the catalogue was filled.
      liveness: () => {
        const stuckJobs = scheduler.stuckRuns();
        return { degraded: stuckJobs.length > 0, details: stuckJobs.length > 0 ? { stuckJobs } : {} };
      },
      readinessDetails: async () => ({
        catalogue: await services.inventory.catalogueStatus(),
        scheduler: {
          stuckJobs: scheduler.stuckRuns(),
          abandonedRuns: (await scheduler.listAbandonedRuns({ limit: 20 })).map((run) => ({
            job: run.job,
            runId: run.id,
            instance: run.instance,
            startedAt: run.startedAt,
            finishedAt: run.finishedAt,
            error: run.error,
          })),
        },
      }),
      log,
      database,
      authenticate: (key) => services.auth.apiKeys.authenticate(key),
      resolvers: buildResolvers(modules),
      requestContext: () => ({ services, loaders: createRequestLoaders(modules), serverInfo }),
      metrics,
      bodyLimit: config.http.graphqlMaxBytes,
      http: config.http,
      metricsAccess: { token: config.metrics.token, separatePort: config.metrics.port !== undefined },
      graphqlGuard: { ...config.graphql, now: overrides.graphqlClock },
      routes: [...modules.flatMap((module) => module.routes ?? []), ...(overrides.routes ?? [])],
    });
    closers.push(() => http.close());
    const address = await http.listen({ port: config.port, host: config.host });
    const url = address.replace('[::1]', 'localhost');
    log.info({ url }, 'gateway listening');
    let metricsUrl = `${url}/metrics`;
    if (config.metrics.port !== undefined) {
      const metricsServer = await createMetricsServer({ log, metrics, token: config.metrics.token });
      closers.push(() => metricsServer.close());
      metricsUrl = `${(await metricsServer.listen({ port: config.metrics.port, host: config.host })).replace('[::1]', 'localhost')}/metrics`;
      log.info({ metricsUrl }, 'metrics served on their own port');
    }
    listeningUrl = url;
    for (const module of modules) await module.start?.();

    // Pushed last so it stops first: running jobs are aborted and recorded before HTTP and the
    // database close.
    closers.push(() => scheduler.stop());
    if (config.scheduler) {
      await scheduler.start();
      for (const module of modules) await module.startWithScheduler?.();
    } else log.info('scheduler off (SCHEDULER=off): this instance only serves the API');

    return {
      url,
      demo,
      deps,
      graphqlUrl: `${url}/graphql`,
      metricsUrl,
      database,
      services,
      modules,
      http,
      scheduler,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

export interface DomainModulesOptions {
  /** One alert sender for the process (one rate limit per code). */
  readonly alerts: AlertSender;
  /** The registry the webhook route dispatches on (every module's `webhookTopics` go in it). */
  readonly webhookRegistry: WebhookTopicRegistry;
  /** Abbreviations of the SKU rules seeded at first start (the demo's finish words). */
  readonly defaultAbbreviations?: Readonly<Record<string, string>> | undefined;
  /** Where Shopify reaches this gateway (PUBLIC_URL, or the demo's own URL once it listens). */
  readonly publicUrl: () => string | null;
  /** Create missing webhook subscriptions at start (the demo; a deployment with PUBLIC_URL). */
  readonly registerWebhooksAtStart: boolean;
  /** The scheduler the jobs API reads and runs jobs through (its jobs are registered after the modules). */
  readonly scheduler: JobsSchedulerPort;
}

/**
 * The domain modules, in order: each is built from `ModuleDeps` and, where it needs a peer, from
 * a narrow port cut from an earlier module's `services` (never the peer module itself). They
 * start in this order and stop in the reverse one. Adding a domain: write its module, add it
 * here.
 */
export function createDomainModules(deps: ModuleDeps, options: DomainModulesOptions) {
  const { alerts } = options;
  const auth = createAuthModule(deps);
  const switches = createSwitchesModule(deps.switches!);
  // First, so the go-live switches from the environment are written before anything reads them.
  const shopifyApp = createShopifyAppModule(deps, { credentials: deps.credentials!, switches: deps.switches!, adminBaseUrl: deps.credentials!.adminBaseUrl });

  // Orders waiting for a mapping are retried the moment one changes (the orders module is built
  // below, so the call is bound late).
  let mappingChanged = (): void => {};
  const inventory = createInventoryModule(deps, {
    defaultAbbreviations: options.defaultAbbreviations,
    onMappingChanged: () => mappingChanged(),
  });
  // The event push's wake-up: every domain that changes an ATP term wakes it; sync listens.
  const { mapping, atp, pushSignal } = inventory.services;

  // The success metrics and stored alerts; sync and orders record through its narrow ports.
  const health = createHealthModule(deps, {
    alerts,
    // Bound late: the operator actions module is built at the end of the list.
    manualInterventions: { countSince: (since) => operatorActions.services.countSince(since) },
    // Bound late too: the orders module comes after health.
    orderBacklog: { backlog: () => orders.backlog() },
    mappingGaps: {
      async mappingGaps() {
        const report = await mapping.getMappingReport({ limit: 20 });
        return {
          unmappedErpSkus: report.counts.unmappedErpSkus,
          ambiguous: report.counts.ambiguous,
          samples: { unmappedErpSkus: report.unmappedErpSkus, ambiguous: report.ambiguous.map((a) => a.erpSku) },
        };
      },
    },
  });

  // A grant first takes its units out of what Shopify offers, through the sync domain (built next: bound late).
  const reservations = createReservationsModule(deps, {
    pushSignal,
    atp,
    storeTake: {
      groupsFor: (positions) => sync.storeTake.groupsFor(positions),
      readLevels: (groups) => sync.storeTake.readLevels(groups),
      adjust: (changes, options) => sync.storeTake.adjust(changes, options),
      record: (tx, records, at) => sync.storeTake.record(tx, records, at),
      recordTakesInDoubt: (db, takes, at) => sync.storeTake.recordTakesInDoubt(db, takes, at),
    },
  });
  const sync = createSyncModule(deps, {
    mapping,
    atp,
    pushSignal,
    alerts,
    ready: () => inventory.services.whenReady(),
    // Manual pushes and reconciles are refused (CATALOGUE_NOT_READY) until the catalogue was first filled.
    catalogue: inventory.services,
    outcomes: health.services,
  });

  // Shopify webhooks into ERP sales orders.
  const orders = createOrdersModule(deps, {
    mapping,
    alerts,
    // Order attempts (error rate) and orders accepted beyond the ATP (oversells).
    health: health.services,
    pushSignal,
    atp,
    publicUrl: options.publicUrl,
    registerWebhooksAtStart: options.registerWebhooksAtStart,
    previousWebhookSecret: deps.config.webhookSecretPrevious,
    mappingReady: () => inventory.services.whenReady(),
    webhookRegistry: options.webhookRegistry,
  });
  mappingChanged = () => {
    orders.processor.mappingChanged().then(
      (due) => {
        if (due > 0) orders.worker.wake();
      },
      (error: unknown) => deps.log.warn({ err: error }, 'retrying orders after a mapping change failed'),
    );
  };

  // Customers' personal data: retention and Shopify's GDPR topics, received on the same route.
  const privacy = createPrivacyModule(deps, { alerts, orders: { contentDigestOf: (snapshot) => contentDigestOf(snapshot as OrderSnapshot) } });

  // ERP shipments back to Shopify as fulfilments.
  // Shipped orders' pending units are released as their shipments are recorded.
  const fulfilments = createFulfilmentsModule(deps, { mapping, onShipped: (ids, signal) => orders.processor.checkShipped(ids, { signal }) });

  // The scheduler's status, history and run-now; every manual intervention is recorded once.
  const operatorActions = createOperatorActionsModule(deps);
  const jobs = createJobsModule(deps, { scheduler: () => options.scheduler, operatorActions: operatorActions.services });

  return [auth, switches, shopifyApp, inventory, health, reservations, sync, orders, privacy, fulfilments, operatorActions, jobs] as const;
}

/** The gateway's domain modules, as built by `createDomainModules`: the GraphQL context is derived from it. */
export type GatewayModules = ReturnType<typeof createDomainModules>;

/**
 * The adapters every domain module is built from (`ModuleDeps`): the configured ERP and store, or
 * the demo's simulated pair on loopback. Shared by the gateway and the CLI commands that run
 * domain work without HTTP (`sync`). `close()` closes what it opened (not the database).
 */
export async function composeModuleDeps(
  config: Config,
  log: Logger,
  database: Database,
  overrides: Pick<GatewayOverrides, 'erp' | 'noDemo'> = {},
): Promise<{ deps: ModuleDeps; demo: DemoEnvironment | undefined; close(): Promise<void> }> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const metrics = createMetricsRegistry();

    // Adapters: the configured ERP and store, or the demo's simulated pair on loopback.
    // A simulated ERP served over HTTP (ERP_URL: `simulate-erp`, the Black Friday simulation) needs no demo.
    const remoteSimulatedErp = usesRemoteSimulatedErp(config);
    const wantsDemo = !overrides.noDemo && (config.demo || !config.shopify.shop || (config.erp.connector === 'simulated' && !overrides.erp && !remoteSimulatedErp));
    const demo = wantsDemo ? await startDemoEnvironment({ log: log.child({ component: 'demo' }) }) : undefined;
    if (demo) closers.push(() => demo.close());
    const erp = overrides.erp ?? createErpConnector(config, log, demo);
    // DEMO=1 serves the demo's simulated store even where a store is configured.
    const realStore = config.shopify.shop !== undefined && !(config.demo && demo);
    const shopDomain = realStore ? config.shopify.shop : demo?.shopify.shopDomain;
    if (!shopDomain) {
      throw new AppError('CONFIG_INVALID', 'SHOPIFY_SHOP and its credentials are required (or run with neither for the demo)');
    }
    const adminUrl = realStore ? config.shopify.adminUrl : demo?.shopify.adminUrl;
    const now = () => new Date();
    const credentials = createShopifyCredentials({ config, database, log, shop: shopDomain, adminUrl, demoToken: realStore ? undefined : demo?.shopify.accessToken, now });
    const switches = createSwitchesService({
      repository: createSwitchesRepository(database.db),
      installedState: async () => (await credentials.installations.findStatus(shopDomain))?.status ?? null,
      log: log.child({ component: 'switches' }),
      now,
      metrics,
    });
    const shopify = new AdminApiShopifyClient({
      shopDomain,
      tokens: credentials.tokens,
      apiVersion: config.shopify.apiVersion,
      adminUrl,
      logger: log.child({ component: 'shopify' }),
      metrics,
    });
    closers.push(() => shopify.close());
    const deps: ModuleDeps = {
      config,
      log,
      database,
      metrics,
      erp,
      shopify,
      shop: shopDomain,
      webhookSecret: realStore ? config.shopify.apiSecret : demo?.shopify.apiSecret,
      now,
      switches,
      credentials,
    };
    return { deps, demo, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** ERP_CONNECTOR=simulated with ERP_URL and a (loopback) store: the simulated ERP served over HTTP, not the demo's. */
function usesRemoteSimulatedErp(config: Config): boolean {
  return config.erp.connector === 'simulated' && config.erp.url !== undefined && config.shopify.shop !== undefined && !config.demo;
}

function createErpConnector(config: Config, log: Logger, demo: DemoEnvironment | undefined): ErpConnector {
  switch (config.erp.connector) {
    case 'tryton':
      return new TrytonErpConnector({
        url: config.erp.url!,
        database: config.erp.database!,
        user: config.erp.user!,
        password: config.erp.password!,
        logger: log.child({ component: 'erp', erp: 'tryton' }),
      });
    case 'odoo':
      throw new AppError(
        'CONFIG_INVALID',
        'ERP_CONNECTOR=odoo: the Odoo connector is not part of this version (see README, "ERP connectors"); use tryton or simulated',
      );
    case 'simulated':
      if (usesRemoteSimulatedErp(config)) {
        return new SimulatedErpConnector(remoteSimulatedErpWire(config.erp.url!), { logger: log.child({ component: 'erp', erp: 'simulated', url: config.erp.url }) });
      }
      if (!demo) throw new AppError('CONFIG_INVALID', 'ERP_CONNECTOR=simulated needs the demo environment');
      return demo.erpConnector;
  }
}
