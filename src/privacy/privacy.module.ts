import type { AlertSender } from '../alerts/alert-sender.js';
import type { DomainModule, ModuleDeps } from '../domain-module.js';
import { createPrivacyRequestsJob, createRetentionJob } from './privacy.job.js';
import { createPrivacyRepository } from './privacy.repository.js';
import { createPrivacyService, type PrivacyOrdersPort, type PrivacyService } from './privacy.service.js';
import { privacyWebhookHandlers } from './privacy.webhooks.js';

export type PrivacyModule = DomainModule<'privacy', PrivacyService>;

export interface PrivacyModuleOptions {
  readonly alerts: AlertSender;
  /** The orders domain's snapshot digest (kept through a redaction). */
  readonly orders: PrivacyOrdersPort;
  readonly retentionDays?: number;
}

/**
 * The privacy domain: retention of customers' personal data (RETENTION_DAYS) and Shopify's GDPR
 * requests (customers/data_request, customers/redact, shop/redact). See src/privacy/README.md.
 */
export function createPrivacyModule(deps: ModuleDeps, options: PrivacyModuleOptions): PrivacyModule {
  const privacy = createPrivacyService({
    repository: createPrivacyRepository(deps.database.db),
    orders: options.orders,
    retentionDays: options.retentionDays ?? deps.config.retentionDays,
    alerts: options.alerts,
    log: deps.log.child({ component: 'privacy' }),
    now: deps.now,
  });
  return {
    name: 'privacy',
    services: privacy,
    jobs: [createPrivacyRequestsJob(privacy), createRetentionJob(privacy)],
    webhookTopics: privacyWebhookHandlers(privacy, deps.shop),
  };
}
