import type { AlertSender } from '../alerts/alert-sender.js';
import type { DomainModule, ModuleDeps } from '../domain-module.js';
import { createWebhookTopicRegistry, type WebhookTopicHandler, type WebhookTopicRegistry } from '../http/webhook-topics.js';
import type { PushSignal } from '../inventory/inventory.port.js';
import type { OrderHealthPort, OversellFinding } from './order-health.port.js';
import { createOrderIntake } from './order-intake.service.js';
import { createOrderLineMapper, type OrderMappingLookup } from './order-line-mapper.js';
import { createOrderPollService, type OrderPollService } from './order-poll.service.js';
import { createOrderProcessor, type OrderAtpPort, type OrderProcessor, type OrderProcessorOptions } from './order-processor.service.js';
import { createOrderWorker, type OrderWorker } from './order-worker.js';
import { asIncident, createOversellJudge } from './pending-units.repository.js';
import { createOrderWorkSignal } from './order-work-signal.js';
import { readOrderBacklog, registerOrderBacklogGauges, type OrderBacklog } from './order-backlog.js';
import { createOrderRepository, type OrderRepository } from './order.repository.js';
import { createOrderJobs } from './orders.job.js';
import { createOrdersLoaders, type OrdersLoaders } from './orders.loaders.js';
import { createOrdersMetrics } from './orders.metrics.js';
import { ordersResolvers } from './orders.resolvers.js';
import { createOrdersService, type OrdersService } from './orders.service.js';
import { ORDER_TOPICS } from './order.models.js';
import { createLiveNodeCache } from '../shopify/live-nodes.js';
import { shopifyWebhookRoute } from './orders.webhooks.js';
import { createWebhookInboxRepository, type WebhookInboxQueueLimits, type WebhookInboxRepository } from './webhook-inbox.repository.js';
import { createWebhookInboxService, type WebhookInboxService } from './webhook-inbox.service.js';
import { createWebhookSubscriptionService, webhookAddressOf, type WebhookSubscriptionService } from './webhook-subscriptions.service.js';

export interface OrdersModuleOptions {
  /** The inventory domain's mapping (Shopify variant → ERP SKU, Shopify location → ERP location). */
  readonly mapping: OrderMappingLookup;
  readonly alerts: AlertSender;
  /**
   * The success metrics (src/health/ through the composition root): each ERP attempt's outcome
   * and each order accepted beyond the ATP. Absent: nothing is recorded.
   */
  readonly health?: OrderHealthPort;
  /** Wakes the event push after pending units change; without it the marks wait for the pusher's poll. */
  readonly pushSignal?: PushSignal | undefined;
  /** The ATP engine: the allocation check re-reads the ERP's stock of what orders it finds held (see OrderProcessorOptions.atp). */
  readonly atp?: OrderAtpPort | undefined;
  /**
   * Where Shopify reaches this gateway (PUBLIC_URL, or the demo's own URL, known only once the
   * server listens). The webhook route's address is derived from it.
   */
  readonly publicUrl?: () => string | null | undefined;
  /** Create missing webhook subscriptions at start (the demo; a deployment with PUBLIC_URL). */
  readonly registerWebhooksAtStart?: boolean;
  /** ERP location online orders ship from (default: derived from the location mapping). */
  readonly defaultLocation?: string;
  /**
   * Resolves once the mapping has been filled at first start: the worker waits for it, so the
   * first orders are not mapped against empty tables (they wait in the inbox meanwhile).
   */
  readonly mappingReady?: () => Promise<void>;
  /** Run the in-process worker (default true); tests drive the pipeline by hand without it. */
  readonly worker?: boolean;
  /** Retry, lease and concurrency settings of the ERP side. */
  readonly processor?: Pick<
    OrderProcessorOptions,
    'maxAttempts' | 'backoffBaseMs' | 'backoffMaxMs' | 'leaseMs' | 'heartbeatMs' | 'maxHoldMs' | 'concurrency' | 'erpSlots' | 'inDoubtSettleMs' | 'outagePauseMs' | 'outageMaxPauseMs' | 'random' | 'clock' | 'pause'
  >;
  /** The inbox's wait for a refund whose order has not arrived (tests shorten it). */
  readonly inboxWait?: { readonly maxWaits?: number; readonly waitBaseMs?: number };
  /** The poll's overlap window before its watermark. */
  readonly pollOverlapMs?: number;
  /** Orders per page of the poll's listing (default 250). */
  readonly pollPageSize?: number;
  /** A previous client secret still accepted during a rotation. */
  readonly previousWebhookSecret?: string | undefined;
  /** Bounds of the inbox's in-memory write queue (beyond them: 503, Shopify retries). */
  readonly inboxQueue?: WebhookInboxQueueLimits;
  /**
   * The registry `POST /webhooks/shopify` dispatches on: the gateway's, where every module's
   * `webhookTopics` are registered (these orders' included). Default: one of its own, holding
   * the orders' topics alone (tests that run the orders domain by itself).
   */
  readonly webhookRegistry?: WebhookTopicRegistry;
}

/**
 * The orders module: its services (`OrdersService`) and, beside the contract, the pipeline's
 * parts, for the composition root (the worker woken after a mapping change) and for tests that
 * drive the pipeline by hand. `routes` is `POST /webhooks/shopify` on `webhookRegistry`.
 * `start()` records the order cut-over on first start, starts registering webhooks if asked and
 * starts the worker.
 */
export interface OrdersModule extends DomainModule<'orders', OrdersService, OrdersLoaders> {
  readonly inbox: WebhookInboxService;
  readonly processor: OrderProcessor;
  readonly poll: OrderPollService;
  readonly subscriptions: WebhookSubscriptionService;
  readonly worker: OrderWorker;
  readonly repositories: { readonly orders: OrderRepository; readonly inbox: WebhookInboxRepository };
  readonly webhookTopics: Readonly<Record<string, WebhookTopicHandler>>;
  /** The backlog toward the ERP (every instance's): orders waiting, the oldest one's age, the drain rate. */
  backlog(): Promise<OrderBacklog>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The orders domain: Shopify webhooks into ERP sales orders, exactly once, nothing lost.
 * Deliveries go to a durable inbox before the 200; the worker (and the `orders.pipeline` job
 * on any instance) applies them to order rows, maps lines and counts their units as pending,
 * then creates, cancels and records returns in the ERP with retries; a poll catches what the
 * webhooks missed; an allocation check releases pending units once the ERP holds them.
 */
export function createOrdersModule(deps: ModuleDeps, options: OrdersModuleOptions): OrdersModule {
  const log = deps.log.child({ component: 'orders' });
  const db = deps.database.db;
  const metrics = createOrdersMetrics(deps.metrics);
  const backlog = () => readOrderBacklog(db, deps.shop, deps.now());
  registerOrderBacklogGauges(deps.metrics, backlog);
  const pushSignal: PushSignal = options.pushSignal ?? { wake() {} };
  const orderRepository = createOrderRepository(db);
  const inboxRepository = createWebhookInboxRepository(db, options.inboxQueue);
  const webhookAddress = () => {
    const base = options.publicUrl?.() ?? deps.config.publicUrl ?? null;
    return base ? webhookAddressOf(base) : null;
  };

  const intake = createOrderIntake({ repository: orderRepository, shop: deps.shop, log, now: deps.now });
  // Oversells are found where an order's units are counted (in the worker, the poll and the
  // allocation check: never on the webhook's acknowledgement path, never with an ERP call) and
  // reported once their transaction committed; a failure to record one never fails the order.
  const oversells = createOversellJudge(deps.database.db, deps.shop);
  const onOversold = async (candidates: readonly OversellFinding[]) => {
    let findings: readonly OversellFinding[];
    try {
      findings = await oversells.judge(candidates);
    } catch (error) {
      log.warn({ err: error, findings: candidates.length }, 'could not judge oversell findings against the orders the ERP may already hold; recorded as found');
      findings = candidates.map(asIncident);
    }
    for (const finding of findings) {
      log.warn({ ...finding }, 'order accepted by Shopify beyond the ATP');
      try {
        await options.health?.recordOversell({ ...finding, source: 'ORDER_BEYOND_ATP' });
      } catch (error) {
        log.warn({ err: error, ...finding }, 'could not record an oversell incident');
      }
    }
  };
  const mapper = createOrderLineMapper({ mapping: options.mapping, erp: deps.erp, shopify: deps.shopify, log, defaultLocation: options.defaultLocation });
  const processor = createOrderProcessor({
    db,
    shop: deps.shop,
    repository: orderRepository,
    mapper,
    erp: deps.erp,
    alerts: options.alerts,
    pushSignal,
    metrics,
    log,
    now: deps.now,
    health: options.health,
    ...(options.atp ? { atp: options.atp } : {}),
    onOversold,
    ...options.processor,
  });
  let worker: OrderWorker | null = null;
  // Found work starts at once: this process's worker is woken directly, the other instances by NOTIFY.
  const workSignal = createOrderWorkSignal(deps.database, deps.shop, log);
  const ordersDue = () => {
    worker?.wakeOrders();
    workSignal.announce();
  };
  const inbox = createWebhookInboxService({
    db,
    shop: deps.shop,
    inbox: inboxRepository,
    orders: orderRepository,
    intake,
    mapper,
    metrics,
    log,
    onStored: () => worker?.wake(),
    onOversold,
    ...options.inboxWait,
  });
  worker = createOrderWorker({
    inbox,
    processor,
    inboxRepository,
    orderRepository,
    pushSignal,
    log,
    ordersToErp: deps.switches ? () => deps.switches!.ordersToErp() : undefined,
    onOrdersDue: () => workSignal.announce(),
  });
  const poll = createOrderPollService({
    db,
    shop: deps.shop,
    shopify: deps.shopify,
    repository: orderRepository,
    inbox: inboxRepository,
    intake,
    mapper,
    metrics,
    log,
    overlapMs: options.pollOverlapMs,
    pageSize: options.pollPageSize,
    onWork: ordersDue,
    onOversold,
  });
  const subscriptions = createWebhookSubscriptionService({ shopify: deps.shopify, log, now: deps.now });
  const live = createLiveNodeCache(deps.shopify);
  const orders = createOrdersService({
    db,
    shop: deps.shop,
    orders: orderRepository,
    inbox: inboxRepository,
    processor,
    ordersToErp: deps.switches ? () => deps.switches!.ordersToErp() : undefined,
    subscriptions,
    webhookAddress,
    onQueued: ordersDue,
    onDeliveriesQueued: () => worker?.wake(),
    log,
  });
  const secrets = () => [deps.webhookSecret, options.previousWebhookSecret].filter((secret): secret is string => Boolean(secret));
  const webhookTopics: Record<string, WebhookTopicHandler> = Object.fromEntries(ORDER_TOPICS.map((topic) => [topic, (delivery) => inbox.receive(delivery)]));
  let registry = options.webhookRegistry;
  if (!registry) {
    registry = createWebhookTopicRegistry();
    for (const [topic, handler] of Object.entries(webhookTopics)) registry.register(topic, handler);
  }
  const runWorker = options.worker ?? true;
  let stopped = false;
  let registering: Promise<void> = Promise.resolve();
  const theWorker = worker;

  return {
    name: 'orders',
    services: orders,
    createLoaders: () => createOrdersLoaders(orders, live),
    resolvers: ordersResolvers,
    inbox,
    processor,
    poll,
    subscriptions,
    worker: theWorker,
    repositories: { orders: orderRepository, inbox: inboxRepository },
    jobs: createOrderJobs({
      shop: deps.shop,
      shopInstalled: deps.switches ? async () => (await deps.switches!.state()).shopInstalled : undefined,
      worker: theWorker,
      processor,
      poll,
      subscriptions,
      inboxRepository,
      alerts: options.alerts,
      metrics,
      pollIntervalMs: deps.config.orderPollIntervalSeconds * 1000,
      webhookAddress,
    }),
    routes: [shopifyWebhookRoute({ topics: registry, secrets, maxBytes: deps.config.webhookMaxBytes, metrics, log })],
    webhookTopics,
    backlog,
    async start() {
      const state = await orderRepository.pollState(deps.shop);
      log.info({ cutoverAt: state.cutoverAt.toISOString() }, 'orders created in Shopify from the cut-over on go to the ERP');
      const address = webhookAddress();
      if (options.registerWebhooksAtStart && address) {
        // In the background: a slow or unreachable Shopify must not hold up the gateway's start.
        // Not fatal either: the poll brings the orders in, and the subscriptions job tries again.
        registering = subscriptions.register(address).then(
          (result) => log.info({ address, created: result.created.length, existing: result.existing.length }, 'webhook subscriptions checked'),
          (error: unknown) => log.error({ err: error, address }, 'could not register the webhook subscriptions'),
        );
      }
      if (runWorker) {
        const ready = options.mappingReady?.() ?? Promise.resolve();
        void ready.catch(() => undefined).then(() => {
          if (stopped) return;
          theWorker.start();
          workSignal.listen(() => theWorker.wakeOrders()).catch((error: unknown) => {
            log.warn({ err: error }, 'could not listen for order work of other instances; the pipeline job covers it');
          });
        });
      }
    },
    async stop() {
      stopped = true;
      await registering;
      await workSignal.stop();
      await theWorker.stop();
    },
  };
}
