// One unit though long: every reservation command (reserve, release, commit, extend, lines,
// expiry, ERP confirmation) validates its input with the same schemas and marks the same positions
// for push after the same repository calls; split per command, those steps would be repeated in
// each file. The input schemas and the metrics come first, the commands after.
import { createHash } from 'node:crypto';
import { Counter, Histogram, type Registry } from 'prom-client';
import { z } from 'zod';
import { StoreUnavailableError, type PositionKey, type PushSignal, type StoreTakePort } from '../inventory/inventory.port.js';
import type { StoreTakeContext } from './store-take.js';
import type { Logger } from '../logger.js';
import { ValidationError } from '../shared/errors.js';
import { decodeCursor, invalidCursor, pageSize, toConnection, type Connection } from '../shared/pagination.js';
import { IdempotencyKeyReusedError, ReservationNotActiveError, ReservationNotFoundError } from './reservations.errors.js';
import {
  MAX_RESERVATION_LINES,
  reservationStatuses,
  type ReservationLineInput,
  type ReservationLineRecord,
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

const quantitySchema = z
  .number()
  .int('quantity must be a whole number of units')
  .min(1, 'quantity must be at least 1')
  .max(MAX_QUANTITY, `quantity is at most ${MAX_QUANTITY}`);

const lineSchema = z.object({
  // SKUs and locations are the ERP's codes, compared exactly: no trimming or case folding.
  sku: text('sku'),
  location: text('location'),
  quantity: quantitySchema,
});

const ttlSchema = z
  .number()
  .int('ttlSeconds must be a whole number')
  .min(1, 'ttlSeconds must be at least 1')
  .max(MAX_TTL_SECONDS, `ttlSeconds is at most ${MAX_TTL_SECONDS} (90 days)`);

const reserveInputSchema = z.object({
  sku: text('sku').nullish(),
  location: text('location').nullish(),
  quantity: quantitySchema.nullish(),
  lines: z
    .array(lineSchema)
    .min(1, 'lines must hold at least one line')
    .max(MAX_RESERVATION_LINES, `lines holds at most ${MAX_RESERVATION_LINES} lines`)
    .refine((lines) => new Set(lines.map((line) => `${line.sku}\u0000${line.location}`)).size === lines.length, 'lines must not name the same sku and location twice')
    .nullish(),
  reference: text('reference'),
  idempotencyKey: text('idempotencyKey'),
  ttlSeconds: ttlSchema.nullish(),
});

/** The lines of a request: `lines`, or the single-line form as one line; never both, never neither. */
function requestedLines(input: z.infer<typeof reserveInputSchema>): ReservationLineInput[] {
  const single = input.sku != null || input.location != null || input.quantity != null;
  if (input.lines && single) throw new ValidationError('send either lines or sku, location and quantity, not both', { fields: ['lines'] });
  if (input.lines) return input.lines;
  if (input.sku == null || input.location == null || input.quantity == null) {
    throw new ValidationError('send lines, or all of sku, location and quantity', { fields: ['sku', 'location', 'quantity', 'lines'] });
  }
  return [{ sku: input.sku, location: input.location, quantity: input.quantity }];
}

const filterSchema = z.object({
  sku: z.string().max(255).nullish(),
  location: z.string().max(255).nullish(),
  status: z.enum(reservationStatuses).nullish(),
  reference: z.string().max(255).nullish(),
  idempotencyKey: z.string().max(255).nullish(),
  createdBy: z.string().max(255).nullish(),
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

/** The user error codes of extendReservation. */
export type ExtendErrorCode = 'RESERVATION_NOT_FOUND' | 'RESERVATION_NOT_ACTIVE' | 'INVALID_TTL';
/** The user error codes of releaseReservationLines and commitReservationLines. */
export type LinesErrorCode = 'RESERVATION_NOT_FOUND' | 'RESERVATION_NOT_ACTIVE' | 'LINE_NOT_FOUND' | 'LINE_NOT_ACTIVE' | 'INVALID_LINES';

/** What the payload mutations answer: the reservation as it now is, or why nothing changed. */
export type PayloadOutcome<C extends string> =
  | { readonly kind: 'done'; readonly reservation: ReservationRecord }
  | { readonly kind: 'refused'; readonly code: C; readonly field: readonly string[]; readonly message: string };

function refusal<C extends string>(code: C, field: readonly string[], message: string): PayloadOutcome<C> {
  return { kind: 'refused', code, field, message };
}

function sortedLines(lines: readonly ReservationLineInput[]): ReservationLineInput[] {
  return [...lines].sort((a, b) => (a.sku === b.sku ? (a.location < b.location ? -1 : a.location > b.location ? 1 : 0) : a.sku < b.sku ? -1 : 1));
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
  /**
   * Shopify's side of a grant (src/reservations/README.md, "No two channels sell the same unit"):
   * when present and INVENTORY_PUSH is on, the units a grant needs are taken out of Shopify's
   * `available` before it commits. Absent: decided locally.
   */
  readonly storeTake?: StoreTakePort | undefined;
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
      help: 'reserveInventory outcomes: reserved, replayed, insufficient_stock, not_found, store_unavailable',
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
  const storeTakes =
    (registry.getSingleMetric('stockbridge_reservation_store_takes_total') as Counter<'outcome'> | undefined) ??
    new Counter({
      name: 'stockbridge_reservation_store_takes_total',
      help: "Reservation batches' takes out of Shopify's available: taken, none_needed (Shopify already offers less), short (Shopify had sold units we did not know of), unavailable",
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
  const storeTakeSeconds =
    (registry.getSingleMetric('stockbridge_reservation_store_take_seconds') as Histogram | undefined) ??
    new Histogram({
      name: 'stockbridge_reservation_store_take_seconds',
      help: "Time a reservation batch spent on Shopify's side of the grant (level read, take, give-back), row locks held",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  return { decisions, transitions, duration, batchSize, repairs, storeTakes, storeTakeSeconds };
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
  type TakeOutcome = Parameters<NonNullable<StoreTakeContext['onTake']>>[0];

  /**
   * The Shopify levels a batch takes from, or undefined (decide locally, in one statement). Looked
   * up before the batch's transaction begins, never while it holds row locks: the lookup needs a
   * connection of the pool, and a transaction holding locks while it waits for one can wait
   * forever when every other connection is in a transaction waiting for those locks (seen at
   * 10,000 orders a minute on three instances: every pool full, nothing moving).
   */
  async function storeLookup(batch: readonly NewReservation[], onTake: (outcome: TakeOutcome, seconds: number | null) => void): Promise<StoreTakeContext | undefined> {
    const store = deps.storeTake;
    if (!store) return undefined;
    const groups = await store.groupsFor(batch.flatMap((input) => input.lines));
    return groups.length > 0 ? { port: store, groups, now: deps.now, onTake } : undefined;
  }

  /**
   * What a batch answers each request, when the kits its grants touched are recomputed (after the
   * lane moved on), and whether the event push must be woken: not after a take that left
   * Shopify at the push's own target (its marks are cleared at the push's next poll).
   */
  type Decided = { readonly result: ReserveResult; readonly kits: Promise<void>; readonly wake: boolean };
  const batcher = createBatcher<NewReservation, Decided>({
    lanes: deps.batching?.lanes ?? 4,
    maxBatch: deps.batching?.maxBatch ?? 100,
    // Any lane is correct (the database decides); the first position keeps a hot SKU's single-line requests together.
    laneKey: (input) => `${input.lines[0]!.sku}\u0000${input.lines[0]!.location}`,
    dedupeKey: (input) => `${input.createdBy}\u0000${input.idempotencyKey}`,
    async run(batch) {
      let taken = false;
      const onTake = (outcome: TakeOutcome, seconds: number | null) => {
        taken = outcome === 'taken';
        metrics.storeTakes.inc({ outcome });
        if (seconds !== null) metrics.storeTakeSeconds.observe(seconds);
      };
      const results = await deps.repository.reserveBatch(batch, await storeLookup(batch, onTake));
      // The kits are recomputed after the commit, outside the lane: its next batch need not wait
      // for them (each request's answer still does).
      const kits = recomputeKits(batch.filter((_, index) => results[index]?.kind === 'created').flatMap((input) => input.lines.map((line) => line.sku)));
      // After a take Shopify already offers what remains: the push has nothing to lower, and a
      // wake per batch would make it read and clear marks under the hot rows' locks every time.
      // Its next poll clears them (a level of the batch that needed no take and offers less than
      // its target is raised then: an undersell for a few seconds, never an oversell).
      const wake = !taken;
      return results.map((result) => ({ result, kits, wake }));
    },
    onBatch: (size) => metrics.batchSize.observe(size),
  });

  /**
   * What the idempotency key covers: the lines (in any order: the same lines sent in another
   * order are the same request), the reference and the TTL. A one-line request hashes as the
   * single-line form always did, so keys used before lines existed still replay.
   */
  function requestHash(lines: readonly ReservationLineInput[], reference: string, ttlSeconds: number): string {
    const [only] = lines;
    const body =
      lines.length === 1 && only
        ? [only.sku, only.location, only.quantity, reference, ttlSeconds]
        : ['lines', sortedLines(lines).map((line) => [line.sku, line.location, line.quantity]), reference, ttlSeconds];
    return createHash('sha256').update(JSON.stringify(body)).digest('hex');
  }

  /** Counts, wakes the push and recomputes kits after lines left ACTIVE (expired when touched too). */
  async function afterTransition(to: 'RELEASED' | 'COMMITTED' | 'EXPIRED', lines: readonly ReservationLineRecord[]): Promise<void> {
    metrics.transitions.inc({ to });
    wake();
    if (to !== 'COMMITTED') await recomputeKits(lines.map((line) => line.sku));
  }

  async function expiredWhenTouched(id: string, reservation: ReservationRecord, lines: readonly ReservationLineRecord[]): Promise<void> {
    deps.log.info({ reservationId: id, expiresAt: reservation.expiresAt }, 'reservation past its expiresAt expired when touched');
    await afterTransition('EXPIRED', lines);
  }

  async function transition(actor: ReservationActor, id: string, to: 'RELEASED' | 'COMMITTED'): Promise<ReservationRecord> {
    if (!uuidPattern.test(id)) throw new ReservationNotFoundError(id);
    const attempted = to === 'RELEASED' ? 'release' : 'commit';
    const result = await deps.repository.transition(actor, id, to, deps.now());
    switch (result.kind) {
      case 'done':
        await afterTransition(to, result.lines);
        return result.reservation;
      case 'expired':
        await expiredWhenTouched(id, result.reservation, result.lines);
        throw new ReservationNotActiveError(id, 'EXPIRED', attempted);
      case 'not-active':
        throw new ReservationNotActiveError(id, result.reservation.status, attempted);
      case 'not-found':
      case 'lines-not-found':
      case 'lines-not-active':
        throw new ReservationNotFoundError(id);
    }
  }

  /** A partial release or commit: the payload's reservation, or one user error. */
  async function transitionLines(actor: ReservationActor, raw: { id: string; lines: readonly number[] }, to: 'RELEASED' | 'COMMITTED'): Promise<PayloadOutcome<LinesErrorCode>> {
    if (!uuidPattern.test(raw.id)) return refusal('RESERVATION_NOT_FOUND', ['input', 'id'], `reservation ${raw.id} was not found`);
    if (raw.lines.length === 0 || raw.lines.length > MAX_RESERVATION_LINES || raw.lines.some((line) => !Number.isInteger(line) || line < 1)) {
      return refusal('INVALID_LINES', ['input', 'lines'], `lines must name 1 to ${MAX_RESERVATION_LINES} line numbers, each a whole number from 1`);
    }
    const result = await deps.repository.transition(actor, raw.id, to, deps.now(), raw.lines);
    switch (result.kind) {
      case 'done':
        await afterTransition(to, result.lines);
        return { kind: 'done', reservation: result.reservation };
      case 'expired':
        await expiredWhenTouched(raw.id, result.reservation, result.lines);
        return refusal('RESERVATION_NOT_ACTIVE', ['input', 'id'], `reservation ${raw.id} is EXPIRED; only an ACTIVE reservation's lines can change`);
      case 'not-active':
        return refusal('RESERVATION_NOT_ACTIVE', ['input', 'id'], `reservation ${raw.id} is ${result.reservation.status}; only an ACTIVE reservation's lines can change`);
      case 'not-found':
        return refusal('RESERVATION_NOT_FOUND', ['input', 'id'], `reservation ${raw.id} was not found`);
      case 'lines-not-found':
        return refusal('LINE_NOT_FOUND', ['input', 'lines'], `reservation ${raw.id} has no line ${result.lines.join(', ')}`);
      case 'lines-not-active':
        return refusal(
          'LINE_NOT_ACTIVE',
          ['input', 'lines'],
          `line(s) ${result.lines.map((line) => `${line.line} (${line.status})`).join(', ')} of reservation ${raw.id} are no longer ACTIVE`,
        );
    }
  }

  return {
    /**
     * Holds every line if the ATP covers each at this moment, or none. The same idempotency key
     * (per API key) returns the reservation it made, whatever its status now, and never holds
     * twice; the same key with other lines, reference or TTL throws IDEMPOTENCY_KEY_REUSED.
     * Invalid input throws BAD_USER_INPUT. A refusal (a line short of stock, an unknown SKU or
     * location) holds nothing, names every short line and does not use up the key: a retry
     * decides again.
     */
    async reserve(actor: ReservationActor, raw: ReserveInventoryInput): Promise<ReserveOutcome> {
      const input = parse(reserveInputSchema, raw);
      const lines = requestedLines(input);
      const ttlSeconds = input.ttlSeconds ?? deps.defaultTtlSeconds;
      const at = deps.now();
      const hash = requestHash(lines, input.reference, ttlSeconds);
      const stopTimer = metrics.duration.startTimer();
      const decided = await batcher.submit({
        lines,
        reference: input.reference,
        idempotencyKey: input.idempotencyKey,
        requestHash: hash,
        expiresAt: new Date(at.getTime() + ttlSeconds * 1000),
        createdBy: actor.id,
        at,
      });
      await decided.kits;
      const { result } = decided;
      stopTimer();
      switch (result.kind) {
        case 'created':
          metrics.decisions.inc({ outcome: 'reserved' });
          if (decided.wake) wake();
          return { kind: 'reserved', reservation: result.reservation, replayed: false };
        case 'existing':
          if (result.requestHash !== hash) throw new IdempotencyKeyReusedError(input.idempotencyKey, result.reservation.id);
          metrics.decisions.inc({ outcome: 'replayed' });
          return { kind: 'reserved', reservation: result.reservation, replayed: true };
        case 'store-unavailable':
          metrics.decisions.inc({ outcome: 'store_unavailable' });
          wake();
          throw new StoreUnavailableError(result.message, { retryAfterSeconds: 1 });
        case 'refused': {
          const unknown = result.lines.find((line) => line.reason !== 'INSUFFICIENT_STOCK');
          if (unknown) {
            metrics.decisions.inc({ outcome: 'not_found' });
            return {
              kind: 'not-found',
              sku: unknown.sku,
              location: unknown.location,
              unknown: unknown.reason === 'SKU_NOT_FOUND' ? 'sku' : 'location',
              lines: result.lines,
            };
          }
          const first = result.lines[0]!;
          metrics.decisions.inc({ outcome: 'insufficient_stock' });
          return {
            kind: 'insufficient-stock',
            sku: first.sku,
            location: first.location,
            requested: first.requested,
            availableToPromise: first.available,
            lines: result.lines,
          };
        }
      }
    },

    /** Frees the units of an ACTIVE reservation (every line still ACTIVE). Throws RESERVATION_NOT_FOUND or RESERVATION_NOT_ACTIVE. */
    release(actor: ReservationActor, id: string): Promise<ReservationRecord> {
      return transition(actor, id, 'RELEASED');
    },

    /**
     * Marks an ACTIVE reservation's order (every line still ACTIVE) as entered in the ERP. Its
     * units keep counting until an ERP read taken after this moment shows them (see
     * confirmCommittedReservations), then stop.
     */
    commit(actor: ReservationActor, id: string): Promise<ReservationRecord> {
      return transition(actor, id, 'COMMITTED');
    },

    /** Frees some ACTIVE lines of an ACTIVE reservation; the reservation stays ACTIVE while others are. */
    releaseLines(actor: ReservationActor, input: { id: string; lines: readonly number[] }): Promise<PayloadOutcome<LinesErrorCode>> {
      return transitionLines(actor, input, 'RELEASED');
    },

    /** Commits some ACTIVE lines of an ACTIVE reservation (the part of the order entered in the ERP). */
    commitLines(actor: ReservationActor, input: { id: string; lines: readonly number[] }): Promise<PayloadOutcome<LinesErrorCode>> {
      return transitionLines(actor, input, 'COMMITTED');
    },

    /** Holds an ACTIVE reservation until `ttlSeconds` from now (longer or shorter than before). */
    async extend(actor: ReservationActor, input: { id: string; ttlSeconds: number }): Promise<PayloadOutcome<ExtendErrorCode>> {
      if (!uuidPattern.test(input.id)) return refusal('RESERVATION_NOT_FOUND', ['input', 'id'], `reservation ${input.id} was not found`);
      const ttl = ttlSchema.safeParse(input.ttlSeconds);
      if (!ttl.success) return refusal('INVALID_TTL', ['input', 'ttlSeconds'], ttl.error.issues.map((issue) => issue.message).join('; '));
      const at = deps.now();
      const result = await deps.repository.extend(actor, input.id, new Date(at.getTime() + ttl.data * 1000), at);
      switch (result.kind) {
        case 'done':
          return { kind: 'done', reservation: result.reservation };
        case 'expired':
          await expiredWhenTouched(input.id, result.reservation, result.lines);
          return refusal('RESERVATION_NOT_ACTIVE', ['input', 'id'], `reservation ${input.id} is EXPIRED; only an ACTIVE reservation can be extended`);
        case 'not-active':
          return refusal('RESERVATION_NOT_ACTIVE', ['input', 'id'], `reservation ${input.id} is ${result.reservation.status}; only an ACTIVE reservation can be extended`);
        case 'not-found':
          return refusal('RESERVATION_NOT_FOUND', ['input', 'id'], `reservation ${input.id} was not found`);
      }
    },

    getLinesByReservationIds(ids: readonly string[]): Promise<ReservationLineRecord[]> {
      return deps.repository.getLinesByReservationIds(ids);
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
        if (expired.reservations.length === 0) break;
        total += expired.reservations.length;
        metrics.transitions.inc({ to: 'EXPIRED' }, expired.reservations.length);
        wake();
        await recomputeKits(expired.lines.map((line) => line.sku));
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

    /** Stops counting committed lines the ERP's figures now show (all positions, or these); returns how many lines. */
    async confirmCommitted(positions?: readonly PositionKey[]): Promise<number> {
      const confirmed = await deps.repository.confirmCommitted(deps.now(), erpReadMarginMs, positions);
      if (confirmed.length > 0) {
        metrics.transitions.inc({ to: 'ERP_CONFIRMED' }, confirmed.length);
        wake();
        await recomputeKits(confirmed.map((line) => line.sku));
      }
      return confirmed.length;
    },
  };
}

export type ReservationsService = ReturnType<typeof createReservationsService>;
