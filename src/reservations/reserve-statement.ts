import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { isTransientConflict } from '../db/database-errors.js';
import { inventoryLevels, reservationEvents, reservationLines, reservations } from '../db/schema/index.js';
import { jsonParam } from '../db/sql-lists.js';
import { createInventoryLevelsWriter } from '../inventory/read-model/inventory-levels.writer.js';
import { atpExpression } from '../inventory/read-model/atp-formula.js';
import { findIdempotencyReplays, idempotencyKeyOf, toReservation } from './idempotency-replays.js';
import type { ReservationRecord } from './reservations.models.js';

/**
 * The common case of a batch of reservation requests in ONE statement, so one round trip and one
 * commit (PostgreSQL runs a lone statement as its own transaction): every position any line
 * names exists and has the ATP for everything the batch asks of it. The statement
 *
 * 1. locks the positions (SELECT … FOR UPDATE, in (sku, location) order, like every transaction
 *    of this domain, before it touches any reservation row) and checks the whole batch fits;
 * 2. only if it does: inserts the reservation rows (ON CONFLICT DO NOTHING on the idempotency
 *    index: a key already used is a replay, answered from its row), their RESERVED events, the
 *    lines of the rows it inserted, and takes their units with the read model writer's guarded
 *    UPDATE (`takeReservedStatement`: reserved + q where ATP ≥ q, the new ATP, the push mark);
 * 3. fails whole (an error raised in the statement) if the guard ever took fewer positions than
 *    it asked for, rather than hold units that are not there.
 *
 * When the batch does not fit (a short line, an unknown SKU or location: the demand counted
 * includes replays, so a replay can only make it fall back, never over-grant) nothing is
 * written and the answer is `null`: the caller decides the batch request by request in its
 * transaction (ReservationsRepository.reserveBatch), which names the short lines.
 *
 * The row locks make the decision exact across connections and instances, as in the
 * transaction: a second statement wanting a position waits for this one's commit, then reads the
 * new ATP (READ COMMITTED re-reads a locked row's newest version).
 */

export interface FastReservation {
  readonly lines: readonly { readonly sku: string; readonly location: string; readonly quantity: number }[];
  readonly reference: string;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly expiresAt: Date;
  readonly createdBy: string;
  readonly at: Date;
}

export type FastResult =
  | { readonly kind: 'created'; readonly reservation: ReservationRecord }
  | { readonly kind: 'existing'; readonly reservation: ReservationRecord; readonly requestHash: string };

/**
 * Decides `inputs` in one statement when the whole batch fits (see above); `null` when it does
 * not, and then nothing was written. Callers must not put two requests with the same API key and
 * idempotency key in one batch.
 */
export async function reserveInOneStatement(db: Db, shop: string, inputs: readonly FastReservation[]): Promise<FastResult[] | null> {
  if (inputs.length === 0) return [];
  const at = new Date(Math.max(...inputs.map((input) => input.at.getTime())));
  const rows = inputs.map((input, ord) => ({
    ord,
    created_by: input.createdBy,
    idempotency_key: input.idempotencyKey,
    reference: input.reference,
    request_hash: input.requestHash,
    expires_at: input.expiresAt.toISOString(),
    created_at: input.at.toISOString(),
    sku: input.lines[0]!.sku,
    location: input.lines[0]!.location,
    quantity: input.lines[0]!.quantity,
    lines: input.lines.map((line, index) => ({ line: index + 1, sku: line.sku, location: line.location, quantity: line.quantity })),
  }));
  const writer = createInventoryLevelsWriter(db, shop);
  const statement = sql`
    with input as (
      select * from jsonb_to_recordset(${jsonParam(rows)}) as i(
        ord int, created_by text, idempotency_key text, reference text, request_hash text,
        expires_at timestamptz, created_at timestamptz, sku text, location text, quantity int, lines jsonb)
    ),
    wanted as (
      select l.sku, l.location, sum(l.quantity)::int as quantity
      from input i cross join lateral jsonb_to_recordset(i.lines) as l(line int, sku text, location text, quantity int)
      group by l.sku, l.location
    ),
    locked as materialized (
      select ${inventoryLevels.sku} as sku, ${inventoryLevels.location} as location, ${atpExpression} as atp
      from ${inventoryLevels}
      where ${inventoryLevels.shop} = ${shop}
        and (${inventoryLevels.sku}, ${inventoryLevels.location}) in (select w.sku, w.location from wanted w)
      order by ${inventoryLevels.sku}, ${inventoryLevels.location}
      for update of ${inventoryLevels}
    ),
    fits as materialized (
      select count(*) = (select count(*) from wanted) and coalesce(bool_and(l.atp >= w.quantity), false) as ok
      from wanted w join locked l on l.sku = w.sku and l.location = w.location
    ),
    created as (
      insert into ${reservations} (shop, sku, location, quantity, reference, idempotency_key, request_hash, status, expires_at, created_by, created_at, updated_at)
      select ${shop}, i.sku, i.location, i.quantity, i.reference, i.idempotency_key, i.request_hash, 'ACTIVE', i.expires_at, i.created_by, i.created_at, i.created_at
      from input i
      where (select ok from fits)
      order by i.ord
      on conflict (shop, created_by, idempotency_key) do nothing
      returning id, created_by, idempotency_key, created_at
    ),
    audited as (
      insert into ${reservationEvents} (reservation_id, from_status, to_status, actor, reason, occurred_at)
      select id, null, 'ACTIVE', created_by, 'RESERVED', created_at from created
      returning id
    ),
    new_lines as materialized (
      select c.id as reservation_id, l.line, l.sku, l.location, l.quantity, c.created_at
      from created c
      join input i on i.created_by = c.created_by and i.idempotency_key = c.idempotency_key
      cross join lateral jsonb_to_recordset(i.lines) as l(line int, sku text, location text, quantity int)
    ),
    lined as (
      insert into ${reservationLines} (reservation_id, line, shop, sku, location, quantity, status, updated_at)
      select reservation_id, line, ${shop}, sku, location, quantity, 'ACTIVE', created_at from new_lines
      returning reservation_id
    ),
    takes as materialized (
      select sku, location, sum(quantity)::int as quantity from new_lines group by sku, location
    ),
    taken as (${writer.takeReservedStatement(sql`select sku, location, quantity from takes`, at)})
    select
      (select ok from fits) as fits,
      (select count(*) from audited)::int as events,
      (select count(*) from lined)::int as lines,
      case when (select count(*) from taken) = (select count(*) from takes) then 0
        else ('reservation guard failed on ' || ((select count(*) from takes) - (select count(*) from taken)) || ' locked position(s): refusing the whole batch')::int
      end as guard,
      coalesce((select jsonb_agg(jsonb_build_array(c.created_by, c.idempotency_key, c.id)) from created c), '[]'::jsonb) as created`;

  let answer: { fits: boolean; created: unknown } | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      [answer] = rowsOf<{ fits: boolean; created: unknown }>(await db.execute(statement));
      break;
    } catch (error) {
      if (attempt >= 5 || !isTransientConflict(error)) throw error;
    }
  }
  if (!answer?.fits) return null;
  const created = (typeof answer.created === 'string' ? JSON.parse(answer.created) : answer.created) as Array<[string, string, string]>;
  const idByKey = new Map(created.map(([createdBy, idempotencyKey, id]) => [idempotencyKeyOf(createdBy, idempotencyKey), id]));

  const results: FastResult[] = new Array<FastResult>(inputs.length);
  const replays: number[] = [];
  inputs.forEach((input, index) => {
    const id = idByKey.get(idempotencyKeyOf(input.createdBy, input.idempotencyKey));
    if (!id) {
      replays.push(index);
      return;
    }
    const first = input.lines[0]!;
    results[index] = {
      kind: 'created',
      reservation: toReservation({
        id,
        sku: first.sku,
        location: first.location,
        quantity: first.quantity,
        reference: input.reference,
        idempotencyKey: input.idempotencyKey,
        status: 'ACTIVE',
        expiresAt: input.expiresAt,
        createdBy: input.createdBy,
        createdAt: input.at,
        updatedAt: input.at,
        committedAt: null,
        closedAt: null,
        erpConfirmedAt: null,
      }),
    };
  });
  // Keys already used: their rows are committed (the insert waited for any in flight).
  for (const [index, replay] of await findIdempotencyReplays(db, shop, inputs, replays)) results[index] = replay;
  return results;
}
