import { bigserial, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Every manual intervention an operator made (a replay, a mapping, a rule change, a job run on
 * demand), one row each, durable so the weekly "manual interventions" metric survives restarts
 * and counts every instance. Written only by src/operator-actions/.
 */
export const operatorActions = pgTable(
  'operator_actions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** What was done: `replayOrder`, `replayWebhookDelivery`, `unmapSku`, `mapSku`, ... */
    action: text('action').notNull(),
    /** The API key id that acted, or `cli:<user>` from the operator CLI; null when unknown. */
    actor: text('actor'),
    /** What it was done to (an order id, a SKU, a job name). */
    target: text('target').notNull(),
    /** Anything else worth keeping (the filter of a bulk replay, the rule set). */
    details: jsonb('details'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('operator_actions_at_idx').on(table.at)],
);
