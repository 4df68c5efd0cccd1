import { and, count, gte, inArray } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { operatorActions } from '../db/schema/operator-actions.js';

/** Every kind of manual intervention the gateway records. */
export const OPERATOR_ACTION_KINDS = [
  'replayOrder',
  'replayWebhookDelivery',
  'mapSku',
  'unmapSku',
  'mapLocation',
  'setSafetyStock',
  'setSkuNormalizationRules',
  'runJobNow',
] as const;
export type OperatorActionKind = (typeof OPERATOR_ACTION_KINDS)[number];

export interface OperatorAction {
  readonly action: OperatorActionKind;
  /** The API key id that acted, `cli:<user>` from the CLI; null when nobody is known. */
  readonly actor: string | null;
  /** What the action was done to: an order id, a webhook id, a SKU, a job name. */
  readonly target: string;
  readonly details?: Record<string, unknown>;
  /** When it happened; the database's clock when absent. */
  readonly at?: Date;
}

/**
 * The one writer of `operator_actions`: the durable record of manual interventions, which the
 * "manual interventions per week" metric counts. `record` is called after the action took
 * effect (a refused or dry-run action is no intervention); `countSince` counts every instance's.
 */
export interface OperatorActions {
  record(action: OperatorAction): Promise<void>;
  recordMany(actions: readonly OperatorAction[]): Promise<void>;
  /** Interventions at or after `since`, optionally only of some kinds. */
  countSince(since: Date, kinds?: readonly OperatorActionKind[]): Promise<number>;
}

export function createOperatorActions(db: Db): OperatorActions {
  const recordMany = async (actions: readonly OperatorAction[]) => {
    if (actions.length === 0) return;
    await db.insert(operatorActions).values(
      actions.map((action) => ({
        action: action.action,
        actor: action.actor,
        target: action.target,
        details: action.details ?? null,
        ...(action.at ? { at: action.at } : {}),
      })),
    );
  };
  return {
    record: (action) => recordMany([action]),
    recordMany,
    async countSince(since, kinds) {
      const conditions = [gte(operatorActions.at, since)];
      if (kinds) {
        if (kinds.length === 0) return 0;
        conditions.push(inArray(operatorActions.action, [...kinds]));
      }
      const [row] = await db.select({ n: count() }).from(operatorActions).where(and(...conditions));
      return row?.n ?? 0;
    },
  };
}
