import type { Db } from '../db/database.js';
import { createInventoryLevelsWriter, type PositionKey } from './read-model/inventory-levels.writer.js';

export type { PositionKey } from './read-model/inventory-levels.writer.js';

/**
 * Push these positions no later than `at`, in the caller's transaction (see `requestPush` of the
 * read model's writer, ./read-model/inventory-levels.writer.ts, which this delegates to): an
 * earlier mark stays, a later one (the sync's retry after a failure) is brought forward, and the
 * push that sends the positions clears the mark, so a crash between the change and the push
 * loses nothing. Positions without a read-model row yet are ignored: the next sync creates and
 * pushes them.
 */
export async function requestPush(db: Db, shop: string, positions: readonly PositionKey[], at: Date = new Date()): Promise<void> {
  await createInventoryLevelsWriter(db, shop).requestPush(positions, at);
}

/**
 * Wakes the event pusher so marked positions go out within seconds rather than at its next
 * poll. Best effort and in-process only: the marks themselves are the durable part.
 */
export interface PushSignal {
  wake(): void;
}
