import type { AlertSender } from '../alerts/alert-sender.js';
import { createAlertsRepository, type AlertsRepository } from '../alerts/alerts.repository.js';
import type { DomainModule, ModuleDeps } from '../domain-module.js';
import { createHealthJob } from './health.job.js';
import { createHealthMetrics } from './health.metrics.js';
import { createHealthRepository } from './health.repository.js';
import { createHealthSeries, type HealthSeries } from './health.series.js';
import { healthResolvers } from './health.resolvers.js';
import {
  createHealthService,
  type HealthMetrics,
  type HealthService,
  type ManualInterventionsPort,
  type MappingGapsPort,
  type OversellReport,
  type PushOutcome,
} from './health.service.js';

/** The backlog toward the ERP, as the orders domain reads it (`Health.orderBacklog`). */
export interface OrderBacklogFigures {
  readonly waiting: number;
  readonly oldestAgeSeconds: number | null;
  readonly drainRatePerMinute: number;
}

/** Reads the orders domain's backlog (bound in src/gateway.ts; the orders module's `backlog`). */
export interface OrderBacklogPort {
  backlog(): Promise<OrderBacklogFigures>;
}

export interface HealthServices extends HealthService {
  /** The backlog toward the ERP (orders waiting, the oldest one's age, the drain rate). */
  orderBacklog(): Promise<OrderBacklogFigures>;
  /** The stored alerts (list, acknowledge); written only through the alert sender and here. */
  readonly alerts: AlertsRepository;
  readonly now: () => Date;
  /** Push volume, errors and latency per bucket of a window (the console's charts). */
  readonly series: HealthSeries['series'];
}

export interface HealthLoaders {
  /** The metrics, read once per request however many `Health` fields ask. */
  metrics(): Promise<HealthMetrics>;
}

export type HealthModule = DomainModule<'health', HealthServices, HealthLoaders>;

export interface HealthModuleOptions {
  /** The process's alert sender, built with this module's alert store (`alertStoreOf`). */
  readonly alerts: AlertSender;
  readonly manualInterventions: ManualInterventionsPort;
  readonly mappingGaps?: MappingGapsPort;
  /** The orders domain's backlog toward the ERP. */
  readonly orderBacklog: OrderBacklogPort;
}

/** The ports other domains record through (passed to them in their module options). */
export interface HealthRecorder {
  recordPushOutcomes(outcomes: readonly PushOutcome[]): Promise<void>;
  recordOrderAttempt(ok: boolean): Promise<void>;
  recordOversell(report: OversellReport): Promise<boolean>;
}

/** The `alerts` table's writer, for the alert sender (src/gateway.ts builds the sender with it). */
export function alertStoreOf(deps: Pick<ModuleDeps, 'database'>): AlertsRepository {
  return createAlertsRepository(deps.database.db);
}

/**
 * The seed's success metrics (sync latency, error rate, oversell incidents, manual
 * interventions), live in `health` and `/metrics`, with thresholds (HEALTH_* variables) and
 * alerts; the stored alerts (`alerts`, `acknowledgeAlert`).
 */
export function createHealthModule(deps: ModuleDeps, options: HealthModuleOptions): HealthModule {
  const repository = createHealthRepository(deps.database.db);
  const service = createHealthService({
    repository,
    alerts: options.alerts,
    thresholds: deps.config.health,
    manualInterventions: options.manualInterventions,
    mappingGaps: options.mappingGaps,
    log: deps.log,
    now: deps.now,
    shop: deps.shop,
  });
  const prom = createHealthMetrics(deps.metrics, () => service.metrics());
  const services: HealthServices = {
    ...service,
    async recordPushOutcomes(outcomes) {
      for (const outcome of outcomes) {
        if (outcome.ok && outcome.changeSeenAt && outcome.changeSeenAt <= outcome.confirmedAt) {
          prom.syncLatency.observe((outcome.confirmedAt.getTime() - outcome.changeSeenAt.getTime()) / 1000);
        }
      }
      await service.recordPushOutcomes(outcomes);
    },
    series: createHealthSeries(deps.database.db, deps.now).series,
    alerts: alertStoreOf(deps),
    now: deps.now,
    orderBacklog: () => options.orderBacklog.backlog(),
  };
  return {
    name: 'health',
    services,
    createLoaders: () => {
      let read: Promise<HealthMetrics> | null = null;
      return { metrics: () => (read ??= service.metrics()) };
    },
    resolvers: healthResolvers,
    jobs: [createHealthJob(services)],
  };
}
