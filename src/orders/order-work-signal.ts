import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';

/**
 * "Orders have work for the ERP": the signal that makes found work start at once. In this
 * process the worker is woken directly; other instances hear it through PostgreSQL
 * LISTEN/NOTIFY (PGlite has it too), so an order stored by one instance (webhook, poll, replay)
 * is taken by whichever instance has room, without waiting for a timer. NOTIFY is sent after the
 * commit that made the work visible, never on the webhook's acknowledgement path (that stays one
 * insert; the instance that stored a delivery applies it itself). Best effort: a lost
 * notification only delays the work until the `orders.pipeline` job's next run.
 */
export interface OrderWorkSignal {
  /** Tells the other instances (this one ignores its own). Never throws, never waits. */
  announce(): void;
  /** Starts listening; `onWork` is called on each other instance's announcement. */
  listen(onWork: () => void): Promise<void>;
  stop(): Promise<void>;
}

/** The NOTIFY channel, one per shop served (an identifier: at most 63 bytes). */
export function orderWorkChannelOf(shop: string): string {
  return `stockbridge_order_work_${shop.toLowerCase().replace(/[^a-z0-9]/g, '_')}`.slice(0, 63);
}

/** Announcements closer together than this are sent as one (a burst of batches, one NOTIFY). */
const COALESCE_MS = 5;

export function createOrderWorkSignal(database: Pick<Database, 'db' | 'listen'>, shop: string, log: Logger): OrderWorkSignal {
  const channel = orderWorkChannelOf(shop);
  const self = randomUUID();
  let unlisten: (() => Promise<void>) | null = null;
  let pending: NodeJS.Timeout | null = null;
  let stopped = false;

  return {
    announce() {
      if (stopped || pending) return;
      pending = setTimeout(() => {
        pending = null;
        if (stopped) return;
        database.db.execute(sql`select pg_notify(${channel}, ${self})`).catch((error: unknown) => {
          log.debug({ err: error }, 'could not announce order work to other instances (the pipeline job picks it up)');
        });
      }, COALESCE_MS);
      pending.unref?.();
    },
    async listen(onWork) {
      if (!database.listen || stopped) return;
      unlisten = await database.listen(channel, (payload) => {
        if (payload !== self) onWork();
      });
    },
    async stop() {
      stopped = true;
      if (pending) clearTimeout(pending);
      pending = null;
      const stop = unlisten;
      unlisten = null;
      await stop?.().catch(() => undefined);
    },
  };
}
