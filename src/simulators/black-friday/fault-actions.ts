// eslint-disable-next-line no-restricted-imports -- a gateway as a child process (a simulator), not the composition root the '**/gateway*' pattern guards
import type { GatewayProcess } from '../chaos/gateway-process.js';
import type { HttpChaosFaults, HttpChaosProxy } from '../chaos/http-chaos-proxy.js';
import type { DatabaseCutter } from '../chaos/database-cutter.js';
import type { AdminApiFaults, ShopifySimulator, WebhookFaults } from '../shopify/index.js';
import type { Random } from '../shopify/random.js';
import type { FaultActions } from './faults.js';
import type { FaultName } from './options.js';

/**
 * What each fault does to the stack. Faults that share a knob (the store's webhook faults, its
 * Admin API faults, the ERP proxy) are merged, so one ending leaves the others in force.
 */
export function faultActions(parts: {
  simulator: ShopifySimulator;
  erpProxy: HttpChaosProxy;
  instances: readonly GatewayProcess[];
  cutter: DatabaseCutter | undefined;
  random: Random;
}): FaultActions {
  const { simulator, erpProxy } = parts;
  const active = new Set<FaultName>();
  const killed = new Map<FaultName, GatewayProcess>();
  let drainTimer: NodeJS.Timeout | undefined;

  const apply = () => {
    const webhooks: WebhookFaults = {};
    if (active.has('webhook-loss')) Object.assign(webhooks, { dropRate: 0.1, dropTopics: ['orders/create', 'orders/updated', 'orders/paid', 'orders/cancelled'] });
    if (active.has('webhook-duplication')) webhooks.duplicateRate = 0.2;
    if (active.has('webhook-reorder')) Object.assign(webhooks, { reorderRate: 0.2, reorderDelayMs: 800 });
    simulator.state.setWebhookFaults(webhooks);
    const admin: AdminApiFaults = {};
    if (active.has('shopify-throttle')) Object.assign(admin, { http429Rate: 0.15, http503Rate: 0.05, retryAfterSeconds: 1 });
    if (active.has('shopify-dropped-answers')) Object.assign(admin, { dropRate: 0.05, dropAfterExecuteRate: 0.05 });
    simulator.state.setAdminFaults(admin);
    const erp: HttpChaosFaults = {};
    if (active.has('erp-slow')) Object.assign(erp, { slowRate: 0.3, slowMs: 2_500 });
    if (active.has('erp-outage')) Object.assign(erp, { outage: true });
    erpProxy.setFaults(erp);
  };

  return {
    async start(fault) {
      active.add(fault);
      apply();
      switch (fault) {
        case 'webhook-loss':
          return 'store drops 10 % of order webhooks (the order poll must find them)';
        case 'webhook-duplication':
          return 'store sends 20 % of webhooks twice';
        case 'webhook-reorder':
          return 'store holds back 20 % of webhooks by 800 ms';
        case 'shopify-throttle':
          // THROTTLED: the leaky bucket emptied every second, besides 429 and 503 answers.
          drainTimer = setInterval(() => simulator.state.setBucketAvailable(0), 1_000);
          simulator.state.setBucketAvailable(0);
          return 'Admin API answers 15 % 429, 5 % 503, and THROTTLED (bucket emptied every second)';
        case 'shopify-dropped-answers':
          return 'Admin API drops 5 % of requests unanswered and 5 % after executing them';
        case 'erp-outage':
          return 'ERP refuses every connection';
        case 'erp-slow':
          return 'ERP holds 30 % of answers back by 2.5 s';
        case 'instance-kill': {
          const live = parts.instances.filter((instance) => instance.running());
          const victim = live[Math.floor(parts.random() * live.length)];
          if (!victim) return 'no instance running to kill';
          const pid = victim.pid;
          await victim.kill('SIGKILL');
          killed.set(fault, victim);
          return `instance ${victim.name} (pid ${pid}) killed with SIGKILL`;
        }
        case 'db-cut': {
          if (!parts.cutter) return 'skipped: the embedded database (no DATABASE_URL) has no connection to cut';
          const cut = await parts.cutter.cut(1_000);
          return `${cut} database connections cut, new ones refused for 1 s`;
        }
      }
    },
    async stop(fault) {
      active.delete(fault);
      apply();
      if (fault === 'shopify-throttle' && drainTimer) clearInterval(drainTimer);
      const victim = killed.get(fault);
      if (victim) {
        killed.delete(fault);
        await victim.start();
      }
    },
  };
}
