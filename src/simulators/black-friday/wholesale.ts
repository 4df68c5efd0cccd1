import { setTimeout as sleep } from 'node:timers/promises';
import type { Random } from '../shopify/random.js';
import type { StockPlan } from './catalogue.js';
import type { GatewayClient } from './instance-client.js';
import { addUnits, positionKey, type Ledger } from './ledger.js';
import type { RunErp } from './run-erp.js';

/**
 * Wholesale apps on the peak day: every `everyMs` one reserves a few units through
 * `reserveInventory` (its own API key); a moment later it either puts the order into the ERP (a
 * wholesale order there, entered in the ledger) and commits the reservation, or releases it.
 */
export interface WholesaleStats {
  reserved: number;
  refused: number;
  committed: number;
  released: number;
  errors: number;
}

const RESERVE = `mutation ($input: ReserveInventoryInput!) {
  reserveInventory(input: $input) { __typename ... on Reservation { id status } ... on ErrorResult { errorCode } }
}`;

export async function runWholesale(options: {
  client: GatewayClient;
  erp: RunErp;
  /** Hears of each reservation made (the sync watch: reserved units keep the pushed level down). */
  onReserved?: (sku: string, location: string, quantity: number) => void;
  plan: StockPlan;
  ledger: Ledger;
  random: Random;
  runId: string;
  everyMs: number;
  signal: AbortSignal;
}): Promise<WholesaleStats> {
  const { client, erp, plan, ledger, random } = options;
  const stats: WholesaleStats = { reserved: 0, refused: 0, committed: 0, released: 0, errors: 0 };
  const pending = new Set<Promise<void>>();
  for (let n = 1; !options.signal.aborted; n++) {
    const pool = random() < 0.5 ? plan.hot : plan.cold;
    const sku = pool[Math.floor(random() * pool.length)]!;
    const location = plan.locations[Math.floor(random() * plan.locations.length)]!;
    const quantity = 1 + Math.floor(random() * 5);
    const commit = random() < 0.7;
    const job = (async () => {
      try {
        const reference = `WS-BF${options.runId}-${n}`;
        const answer = await client.request<{ reserveInventory: { __typename: string; id?: string } }>(RESERVE, {
          input: { sku, location, quantity, reference, idempotencyKey: reference, ttlSeconds: 600 },
        });
        if (answer.reserveInventory.__typename !== 'Reservation' || !answer.reserveInventory.id) {
          stats.refused += 1;
          return;
        }
        stats.reserved += 1;
        options.onReserved?.(sku, location, quantity);
        const id = answer.reserveInventory.id;
        await sleep(500 + random() * 1_500);
        if (commit) {
          await erp.wholesaleOrder(reference, [{ sku, location, quantity }]);
          addUnits(ledger.wholesale, positionKey(sku, location), quantity);
          await client.request('mutation ($id: ID!) { commitReservation(id: $id) { id status } }', { id });
          stats.committed += 1;
        } else {
          await client.request('mutation ($id: ID!) { releaseReservation(id: $id) { id status } }', { id });
          stats.released += 1;
        }
      } catch {
        stats.errors += 1;
      }
    })();
    pending.add(job);
    void job.finally(() => pending.delete(job));
    await sleep(options.everyMs, undefined, { signal: options.signal }).catch(() => {});
  }
  await Promise.all([...pending]);
  return stats;
}
