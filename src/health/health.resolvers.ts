import type { Resolvers } from '../__generated__/graphql.js';
import type { AlertRecord } from '../alerts/alerts.repository.js';
import { decodeCursor, pageSize, selectsTotalCount, toConnection } from '../shared/pagination.js';

const ALERTS = 'alerts';

/** `Health`'s metric fields, `alerts` and `acknowledgeAlert`: delegate to the health services. */
export const healthResolvers: Resolvers = {
  Health: {
    syncLatencySeconds: async (_parent, _args, { loaders }) => (await loaders.health.metrics()).syncLatencySeconds,
    // The public contract's scalars (the headline value over each metric's own window) ...
    errorRate: async (_parent, _args, { loaders }) => (await loaders.health.metrics()).errorRate.rate,
    oversellIncidents: async (_parent, _args, { loaders }) => (await loaders.health.metrics()).oversellIncidents.count,
    manualInterventions: async (_parent, _args, { loaders }) => (await loaders.health.metrics()).manualInterventions.count,
    // ... and each with its threshold, status and windows.
    errorRateMetric: async (_parent, _args, { loaders }) => (await loaders.health.metrics()).errorRate,
    oversellIncidentsMetric: async (_parent, _args, { loaders }) => (await loaders.health.metrics()).oversellIncidents,
    manualInterventionsMetric: async (_parent, _args, { loaders }) => (await loaders.health.metrics()).manualInterventions,
    // Samples per bucket of a window, for charts.
    series: (_parent, { window }, { services }) => services.health.series(window),
    // The orders domain's backlog toward the ERP (a port bound in src/gateway.ts).
    orderBacklog: (_parent, _args, { services }) => services.health.orderBacklog(),
  },
  Alert: {
    id: (alert) => String(alert.id),
    severity: (alert) => (alert.severity === 'critical' ? 'CRITICAL' : 'WARNING'),
    details: (alert) => JSON.stringify(alert.details),
    query: (alert) => (typeof alert.details.query === 'string' ? alert.details.query : null),
  },
  Query: {
    alerts: async (_parent, args, { services }, info) => {
      const first = pageSize(args.first);
      const beforeId = args.after ? Number(decodeCursor(ALERTS, args.after, 1)[0]) : null;
      const rows = await services.health.alerts.list({ open: args.open, limit: first + 1, beforeId });
      return toConnection<AlertRecord>(ALERTS, rows, {
        first,
        after: args.after,
        keyOf: (row) => [row.id],
        totalCount: selectsTotalCount(info) ? await services.health.alerts.countAll(args.open) : undefined,
      });
    },
  },
  Mutation: {
    acknowledgeAlert: async (_parent, { input }, { services, principal }) => {
      const id = Number(input.id);
      const alert = Number.isSafeInteger(id) && id > 0 ? await services.health.alerts.acknowledge(id, principal.keyId, services.health.now()) : null;
      if (!alert) return { alert: null, userErrors: [{ field: ['input', 'id'], message: `No alert with id ${input.id}`, code: 'ALERT_NOT_FOUND' }] };
      return { alert, userErrors: [] };
    },
  },
};
