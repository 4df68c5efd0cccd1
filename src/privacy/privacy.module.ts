import type { AlertSender } from '../alerts/alert-sender.js';
import type { JobDefinition } from '../scheduler/job.js';
import type { ModuleDeps } from '../shared/module.js';
import type { WebhookTopicHandler } from '../orders/orders.webhooks.js';
import { createPrivacyRequestsJob, createRetentionJob } from './privacy.job.js';
import { createPrivacyRepository, type PrivacyRepository } from './privacy.repository.js';
import { createPrivacyService, type PrivacyService } from './privacy.service.js';
import { privacyWebhookHandlers } from './privacy.webhooks.js';

export interface PrivacyModule {
  readonly privacy: PrivacyService;
  readonly repository: PrivacyRepository;
  readonly jobs: JobDefinition[];
  /** The GDPR topics' handlers, to register in the webhook route's topic registry. */
  readonly webhookHandlers: Readonly<Record<string, WebhookTopicHandler>>;
}

/**
 * The privacy domain: retention of customers' personal data (RETENTION_DAYS) and Shopify's GDPR
 * requests (customers/data_request, customers/redact, shop/redact). See src/privacy/README.md.
 */
export function createPrivacyModule(deps: ModuleDeps, options: { readonly alerts: AlertSender; readonly retentionDays?: number }): PrivacyModule {
  const log = deps.log.child({ component: 'privacy' });
  const repository = createPrivacyRepository(deps.database.db);
  const privacy = createPrivacyService({
    repository,
    retentionDays: options.retentionDays ?? deps.config.retentionDays,
    alerts: options.alerts,
    log,
    now: deps.now,
  });
  return {
    privacy,
    repository,
    jobs: [createPrivacyRequestsJob(privacy), createRetentionJob(privacy)],
    webhookHandlers: privacyWebhookHandlers(privacy, deps.shop),
  };
}
