import { idOfType, looseId } from './gid.js';
import type { ShopStore, UserError } from './shop-store.js';
import type { WebhookSubscriptionRecord } from './shop-state.models.js';

/**
 * Webhook subscriptions as `webhookSubscriptionCreate`/`Update`/`Delete` keep them: a valid
 * address, JSON only, a name of letters, digits, hyphens and underscores, one subscription per
 * topic and address. Deliveries are the dispatcher's (webhook-dispatcher.ts).
 */

export class WebhookSubscriptionsState {
  constructor(private readonly store: ShopStore) {}


  createWebhookSubscription(input: {
    topic: string;
    uri: string | null | undefined;
    format?: 'JSON' | 'XML' | null;
    includeFields?: string[] | null;
    metafieldNamespaces?: string[] | null;
    filter?: string | null;
    name?: string | null;
    apiVersion: string;
  }): { subscription: WebhookSubscriptionRecord | null; userErrors: UserError[] } {
    const errors = this.checkSubscription(input, null);
    if (errors.length > 0) return { subscription: null, userErrors: errors };
    const now = this.store.now();
    const subscription: WebhookSubscriptionRecord = {
      __typename: 'WebhookSubscription',
      id: this.store.nextId('WebhookSubscription'),
      topic: input.topic,
      uri: input.uri!,
      format: input.format ?? 'JSON',
      includeFields: input.includeFields ?? [],
      metafieldNamespaces: input.metafieldNamespaces ?? [],
      filter: input.filter ?? null,
      name: input.name ?? null,
      apiVersion: input.apiVersion,
      createdAt: now,
      updatedAt: now,
    };
    this.store.webhookSubscriptions.set(subscription.id, subscription);
    return { subscription, userErrors: [] };
  }

  updateWebhookSubscription(
    ref: string,
    input: { uri?: string | null; format?: 'JSON' | 'XML' | null; includeFields?: string[] | null; metafieldNamespaces?: string[] | null; filter?: string | null; name?: string | null },
  ): { subscription: WebhookSubscriptionRecord | null; userErrors: UserError[] } {
    const id = idOfType(ref, 'WebhookSubscription');
    const existing = id === null ? undefined : this.store.webhookSubscriptions.get(id);
    if (!existing) return { subscription: null, userErrors: [{ field: ['id'], message: 'Webhook subscription does not exist', code: null }] };
    const merged = { ...existing, ...Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) } as WebhookSubscriptionRecord;
    const errors = this.checkSubscription(merged, existing.id);
    if (errors.length > 0) return { subscription: null, userErrors: errors };
    Object.assign(existing, merged, { updatedAt: this.store.now() });
    return { subscription: existing, userErrors: [] };
  }

  deleteWebhookSubscription(ref: string | number): number | null {
    const id = looseId(ref, 'WebhookSubscription');
    if (id === null || !this.store.webhookSubscriptions.has(id)) return null;
    this.store.webhookSubscriptions.delete(id);
    return id;
  }

  private checkSubscription(input: { topic: string; uri?: string | null; format?: string | null; name?: string | null }, existingId: number | null): UserError[] {
    const errors: UserError[] = [];
    const uri = input.uri ?? '';
    let valid = false;
    try {
      const parsed = new URL(uri);
      valid = ['https:', 'http:'].includes(parsed.protocol) || parsed.protocol === 'pubsub:' || uri.startsWith('arn:aws:events:');
    } catch {
      valid = uri.startsWith('arn:aws:events:');
    }
    if (!valid) errors.push({ field: ['webhookSubscription', 'uri'], message: 'Address is invalid', code: null });
    if (input.format === 'XML') errors.push({ field: ['webhookSubscription', 'format'], message: 'The simulator delivers JSON only; XML subscriptions are not supported', code: null });
    if (input.name !== null && input.name !== undefined && !/^[A-Za-z0-9_-]{1,50}$/.test(input.name)) {
      errors.push({ field: ['webhookSubscription', 'name'], message: 'Name can only contain alphanumeric characters, hyphens and underscores, and must be 50 characters or fewer', code: null });
    }
    for (const existing of this.store.webhookSubscriptions.values()) {
      if (existing.id !== existingId && existing.topic === input.topic && existing.uri === uri) {
        errors.push({ field: ['webhookSubscription', 'callbackUrl'], message: 'Address for this topic has already been taken', code: null });
        break;
      }
    }
    return errors;
  }
}
