import { createHash } from 'node:crypto';
import { Counter, Histogram, type Registry } from 'prom-client';
import { z } from 'zod';
import type { PositionKey, PushSignal } from '../inventory/inventory.port.js';
import type { Logger } from '../logger.js';
import { ValidationError } from '../shared/errors.js';
import { decodeCursor, invalidCursor, pageSize, toConnection, type Connection } from '../shared/pagination.js';
import { IdempotencyKeyReusedError, ReservationNotActiveError, ReservationNotFoundError } from './reservations.errors.js';
import {
  reservationStatuses,
  type ReservationRecord,
  type ReservationActor,
  type ReservationEventRecord,
  type ReservationFilter,
  type ReserveInventoryInput,
  type ReserveOutcome,
} from './reservations.models.js';
import { createBatcher } from './reservations.batcher.js';
import { DEFAULT_ERP_READ_MARGIN_MS, type NewReservation, type ReservationsRepository, type ReserveResult } from './reservations.repository.js';

/** The longest hold a caller may ask for (also the ceiling of RESERVATION_DEFAULT_TTL_SECONDS). */
export const MAX_TTL_SECONDS = 90 * 86_400;
export const MAX_QUANTITY = 1_000_000;

const text = (field: string) =>
  z
    .string()
    .min(1, `${field} must not be empty`)
    .max(255, `${field} is at most 255 characters`)
    .refine((value) => value.trim().length > 0, `${field} must not be blank`);

const reserveInputSchema = z.object({
  // SKUs and locations are the ERP's codes, compared exactly: no trimming or case folding.
  sku: text('sku'),
  location: text('location'),
  quantity: z
    .number()
    .int('quantity must be a whole number of units')
    .min(1, 'quantity must be at least 1')
    .max(MAX_QUANTITY, `quantity is at most ${MAX_QUANTITY}`),
  reference: text('reference'),
  idempotencyKey: text('idempotencyKey'),
  ttlSeconds: z
    .number()
    .int('ttlSeconds must be a whole number')
    .min(1, 'ttlSeconds must be at least 1')
    .max(MAX_TTL_SECONDS, `ttlSeconds is at most ${MAX_TTL_SECONDS} (90 days)`)
    .nullish(),
});

const filterSchema = z.object({
  sku: z.string().max(255).nullish(),
  location: z.string().max(255).nullish(),
  status: z.enum(reservationStatuses).nullish(),
});

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ValidationError(result.error.issues.map((issue) => issue.message).join('; '), {
      fields: result.error.issues.map((issue) => issue.path.join('.')),
    });
  }
  return result.data;
}

/** A reservations cursor holds the row's `seq`: an identity, unique and in creation order. */
function reservationCursor(after: string): number {
  const [seq] = decodeCursor('reservations', after, 1);
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 ? seq : invalidCursor('reservations', after);
}

export interface ReservationsServiceDeps {
  readonly repository: ReservationsRepository;
  readonly log: Logger;
  readonly now: () => Date;
  readonly defaultTtlSeconds: number;
  readonly metrics: Registry;
  /** Wakes the event push after a change; absent until the sync domain provides it (the marks still persist). */
  readonly pushSignal?: PushSignal | undefined;
  /** Group commit of concurrent reservations (see reservations.batcher.ts); defaults: 4 lanes, 100 per batch. */
  readonly batching?: { readonly lanes?: number; readonly maxBatch?: number } | undefined;
  /** See DEFAULT_ERP_READ_MARGIN_MS. */
  readonly erpReadMarginMs?: number | undefined;
  /**
   * The ATP engine, when present: kits containing a SKU whose `reserved` changed are recomputed
   * (their buildable quantity comes from the components' ATP), and SKUs with commitments no ERP
   * read has shown yet are re-read so the commitments stop counting twice.
   */
  readonly atp?: ReservationAtpPort | undefined;
}

/** What reservations need of the ATP engine (src/inventory/atp.service.ts). */
export interface ReservationAtpPort {
  recomputeKitsContaining(componentSkus: readonly string[]): Promise<unknown>;
  refreshPositions(skus: readonly string[], options?: { readonly signal?: AbortSignal }): Promise<unknown>;
}

function reservationMetrics(registry: Registry) {
  const existing = registry.getSingleMetric('stockbridge_reservation_decisions_total') as Counter<'outcome'> | undefined;
  const decisions =
    existing ??
    new Counter({
      name: 'stockbridge_reservation_decisions_total',
      help: 'reserveInventory outcomes: reserved, replayed, insufficient_stock, not_found',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
  const transitions =
    (registry.getSingleMetric('stockbridge_reservation_transitions_total') as Counter<'to'> | undefined) ??
    new Counter({
      name: 'stockbridge_reservation_transitions_total',
      help: 'Reservations leaving ACTIVE, by new status, and committed reservations confirmed by the ERP (to="ERP_CONFIRMED")',
      labelNames: ['to'] as const,
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric('stockbridge_reservation_decision_seconds') as Histogram | undefined) ??
    new Histogram({
      name: 'stockbridge_reservation_decision_seconds',
      help: 'Time to decide a reserveInventory call in the database',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
  const batchSize =
    (registry.getSingleMetric('stockbridge_reservation_batch_size') as Histogram | undefined) ??
    new Histogram({
      name: 'stockbridge_reservation_batch_size',
      help: 'Reservation requests decided per database transaction (group commit under load)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 100],
      registers: [registry],
    });
  const repairs =
    (registry.getSingleMetric('stockbridge_reservation_reserved_repairs_total') as Counter | undefined) ??
    new Counter({
      name: 'stockbridge_reservation_reserved_repairs_total',
      help: 'Positions whose reserved term differed from their reservations and was corrected (should stay 0)',
      registers: [registry],
    });
  return { decisions, transitions, duration, batchSize, repairs };
}

/**
 * Reservations: wholesale apps hold units of one SKU at one ERP location for a while, then
 * commit them (the order is now in the ERP) or release them; holds left alone expire. The
 * decision is taken by PostgreSQL (see the repository), so it holds across instances.
 */
export function createReservationsService(deps: ReservationsServiceDeps) {
  const metrics = reservationMetrics(deps.metrics);
  const wake = () => deps.pushSignal?.wake();
  const erpReadMarginMs = deps.erpReadMarginMs ?? DEFAULT_ERP_READ_MARGIN_MS;

  /** Best effort, after the change committed: a failure leaves the kit to the next ERP refresh. */
  async function recomputeKits(skus: readonly string[]): Promise<void> {
    if (!deps.atp || skus.length === 0) return;
    try {
      await deps.atp.recomputeKitsContaining([...new Set(skus)]);
    } catch (error) {
      deps.log.warn({ err: error, skus: [...new Set(skus)].slice(0, 20) }, 'could not recompute kits after a reservation change');
    }
  }
  const batcher = createBatcher<NewReservation, ReserveResult>({
    lanes: deps.batching?.lanes ?? 4,
    maxBatch: deps.batching?.maxBatch ?? 100,
    laneKey: (input) => `${input.sku}\u0000${input.location}`,
    dedupeKey: (input) => `${input.createdBy}\u0000${input.idempotencyKey}`,
    async run(batch) {
      const results = await deps.repository.reserveBatch(batch);
      await recomputeKits(batch.filter((_, index) => results[index]?.kind === 'created').map((input) => input.sku));
      return results;
    },
    onBatch: (size) => metrics.batchSize.observe(size),
  });

  function requestHash(input: { sku: string; location: string; quantity: number; reference: string; ttlSeconds: number }): string {
    return createHash('sha256')
      .update(JSON.stringify([input.sku, input.location, input.quantity, input.reference, input.ttlSeconds]))
      .digest('hex');
  }

  async function transition(actor: ReservationActor, id: string, to: 'RELEASED' | 'COMMITTED'): Promise<ReservationRecord> {
    if (!uuidPattern.test(id)) throw new ReservationNotFoundError(id);
    const result = await deps.repository.transition(actor, id, to, deps.now());
    switch (result.kind) {
      case 'done':
        metrics.transitions.inc({ to });
        wake();
        if (to === 'RELEASED') await recomputeKits([result.reservation.sku]);
        return result.reservation;
      case 'expired':
        metrics.transitions.inc({ to: 'EXPIRED' });
        deps.log.info({ reservationId: id, expiresAt: result.reservation.expiresAt }, 'reservation past its expiresAt expired when touched');
        wake();
        await recomputeKits([result.reservation.sku]);
        throw new ReservationNotActiveError(id, 'EXPIRED', to === 'RELEASED' ? 'release' : 'commit');
      case 'not-active':
        throw new ReservationNotActiveError(id, result.reservation.status, to === 'RELEASED' ? 'release' : 'commit');
      case 'not-found':
        throw new ReservationNotFoundError(id);
    }
  }

  return {
    /**
     * Holds `quantity` units if the ATP covers them at this moment. The same idempotency key (per
     * API key) returns the reservation it made, whatever its status now, and never holds twice;
     * the same key with other arguments throws IDEMPOTENCY_KEY_REUSED. Invalid input throws
     * BAD_USER_INPUT. A refusal (insufficient stock, unknown SKU or location) holds nothing and
     * does not use up the key: a retry decides again.
     */
    async reserve(actor: ReservationActor, raw: ReserveInventoryInput): Promise<ReserveOutcome> {
      const input = parse(reserveInputSchema, raw);
      const ttlSeconds = input.ttlSeconds ?? deps.defaultTtlSeconds;
      const at = deps.now();
      const hash = requestHash({ ...input, ttlSeconds });
      const stopTimer = metrics.duration.startTimer();
      const result = await batcher.submit({
        sku: input.sku,
        location: input.location,
        quantity: input.quantity,
        reference: input.reference,
        idempotencyKey: input.idempotencyKey,
        requestHash: hash,
        expiresAt: new Date(at.getTime() + ttlSeconds * 1000),
        createdBy: actor.id,
        at,
      });
      stopTimer();
      switch (result.kind) {
        case 'created':
          metrics.decisions.inc({ outcome: 'reserved' });
          wake();
          return { kind: 'reserved', reservation: result.reservation, replayed: false };
        case 'existing':
          if (result.requestHash !== hash) throw new IdempotencyKeyReusedError(input.idempotencyKey, result.reservation.id);
          metrics.decisions.inc({ outcome: 'replayed' });
          return { kind: 'reserved', reservation: result.reservation, replayed: true };
        case 'insufficient-stock':
          metrics.decisions.inc({ outcome: 'insufficient_stock' });
          return {
            kind: 'insufficient-stock',
            sku: input.sku,
            location: input.location,
            requested: input.quantity,
            availableToPromise: result.availableToPromise,
          };
        case 'not-found':
          metrics.decisions.inc({ outcome: 'not_found' });
          return { kind: 'not-found', sku: input.sku, location: input.location, unknown: result.unknown };
      }
    },

    /** Frees the units of an ACTIVE reservation. Throws RESERVATION_NOT_FOUND or RESERVATION_NOT_ACTIVE. */
    release(actor: ReservationActor, id: string): Promise<ReservationRecord> {
      return transition(actor, id, 'RELEASED');
    },

    /**
     * Marks an ACTIVE reservation's order as entered in the ERP. Its units keep counting until an
     * ERP read taken after this moment shows them (see confirmCommittedReservations), then stop.
     */
    commit(actor: ReservationActor, id: string): Promise<ReservationRecord> {
      return transition(actor, id, 'COMMITTED');
    },

    /** Null when it does not exist or the actor may not see it. */
    async findById(actor: ReservationActor, id: string): Promise<ReservationRecord | null> {
      if (!uuidPattern.test(id)) return null;
      return deps.repository.findById(actor, id);
    },

    /** Newest first, one page (src/shared/pagination.ts); `withTotalCount` counts every match too. */
    async list(
      actor: ReservationActor,
      rawFilter: ReservationFilter,
      page: { first?: number | null | undefined; after?: string | null | undefined; withTotalCount?: boolean } = {},
    ): Promise<Connection<ReservationRecord>> {
      const filter = parse(filterSchema, rawFilter);
      const first = pageSize(page.first);
      const afterSeq = page.after ? reservationCursor(page.after) : null;
      const [rows, totalCount] = await Promise.all([
        deps.repository.list(actor, filter, first, afterSeq),
        page.withTotalCount ? deps.repository.count(actor, filter) : null,
      ]);
      return toConnection('reservations', rows, {
        first,
        after: page.after,
        keyOf: (row) => [row.seq],
        nodeOf: ({ seq: _seq, ...reservation }): ReservationRecord => reservation,
        totalCount,
      });
    },

    getEventsByReservationIds(ids: readonly string[]): Promise<ReservationEventRecord[]> {
      return deps.repository.getEventsByReservationIds(ids);
    },

    /** Expires every ACTIVE reservation past its `expiresAt`, in batches; returns how many. */
    async expireDue(options: { batchSize?: number; signal?: AbortSignal } = {}): Promise<number> {
      let total = 0;
      for (;;) {
        if (options.signal?.aborted) break;
        const expired = await deps.repository.expireDue(deps.now(), options.batchSize ?? 500);
        if (expired.length === 0) break;
        total += expired.length;
        metrics.transitions.inc({ to: 'EXPIRED' }, expired.length);
        wake();
        await recomputeKits(expired.map((reservation) => reservation.sku));
      }
      return total;
    },

    /**
     * Asks the ATP engine to re-read the ERP for SKUs with commitments no read has shown yet (an
     * order entered in the ERP before its commit may change nothing afterwards, so no delta sync
     * would re-read it soon). Returns how many SKUs it asked for; 0 without the ATP engine.
     */
    async refreshAwaitingErp(options: { limit?: number; signal?: AbortSignal } = {}): Promise<number> {
      if (!deps.atp) return 0;
      const skus = await deps.repository.findSkusAwaitingErp(deps.now(), erpReadMarginMs, options.limit ?? 500);
      if (skus.length > 0) await deps.atp.refreshPositions(skus, { signal: options.signal });
      return skus.length;
    },

    /**
     * Sets `reserved` right at every position where it differs from the units of the
     * reservations that count there, with a warning: it should never find anything.
     */
    async repairReservedTerms(): Promise<number> {
      const repaired = await deps.repository.repairReservedTerms(deps.now());
      if (repaired.length > 0) {
        deps.log.warn({ positions: repaired.slice(0, 50), count: repaired.length }, 'reserved differed from the reservations that count; corrected');
        metrics.repairs.inc(repaired.length);
        wake();
        await recomputeKits(repaired.map((position) => position.sku));
      }
      return repaired.length;
    },

    /** Stops counting committed reservations the ERP's figures now show (all positions, or these). */
    async confirmCommitted(positions?: readonly PositionKey[]): Promise<number> {
      const confirmed = await deps.repository.confirmCommitted(deps.now(), erpReadMarginMs, positions);
      if (confirmed.length > 0) {
        metrics.transitions.inc({ to: 'ERP_CONFIRMED' }, confirmed.length);
        wake();
        await recomputeKits(confirmed.map((reservation) => reservation.sku));
      }
      return confirmed.length;
    },
  };
}

export type ReservationsService = ReturnType<typeof createReservationsService>;
