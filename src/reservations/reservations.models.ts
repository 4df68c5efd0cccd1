export const reservationStatuses = ['ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'] as const;
export type ReservationStatus = (typeof reservationStatuses)[number];

/** One line of a reservation: units of one SKU at one location, with its own status. */
export interface ReservationLineRecord {
  readonly reservationId: string;
  /** 1-based, in the order the caller sent the lines. */
  readonly line: number;
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  readonly status: ReservationStatus;
  readonly committedAt: Date | null;
  readonly closedAt: Date | null;
  readonly erpConfirmedAt: Date | null;
}

/**
 * A reservation as the service returns it. Quantities are whole ERP stock units. `sku`,
 * `location` and `quantity` are the first line's (all of it for a one-line reservation); the
 * lines themselves are read with `lines` (a loader). `status` is ACTIVE while any line is, then
 * COMMITTED if any line was committed, else RELEASED or EXPIRED.
 */
export interface ReservationRecord {
  readonly id: string;
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  readonly reference: string;
  readonly idempotencyKey: string;
  readonly status: ReservationStatus;
  readonly expiresAt: Date;
  /** The API key id that created it. */
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly committedAt: Date | null;
  readonly closedAt: Date | null;
  /** COMMITTED only: when the ERP's figures showed the order and the units stopped counting here. */
  readonly erpConfirmedAt: Date | null;
}

export const reservationEventReasons = ['RESERVED', 'RELEASED', 'COMMITTED', 'EXPIRED', 'ERP_CONFIRMED', 'EXTENDED', 'LINES_RELEASED', 'LINES_COMMITTED'] as const;
export type ReservationEventReason = (typeof reservationEventReasons)[number];

/** One recorded transition (the audit trail). */
export interface ReservationEventRecord {
  readonly reservationId: string;
  readonly fromStatus: ReservationStatus | null;
  readonly toStatus: ReservationStatus;
  readonly actor: string;
  readonly reason: ReservationEventReason;
  /** The lines a partial release or commit moved; null when the event concerned the whole reservation. */
  readonly lines: readonly number[] | null;
  readonly occurredAt: Date;
}

/**
 * Who acts on reservations. A key sees and changes only the reservations it created, unless it
 * has the `admin` scope (an operator's key): wholesale apps share one gateway without being able
 * to release each other's holds. Internal callers (jobs) use a `system:` actor.
 */
export interface ReservationActor {
  readonly id: string;
  readonly seesAll: boolean;
}

/** The actor of a request, from the API key it authenticated with (the auth domain's principal). */
export function actorOf(principal: { readonly keyId: string; readonly scopes: ReadonlySet<string> }): ReservationActor {
  return { id: principal.keyId, seesAll: principal.scopes.has('admin') };
}

export const EXPIRY_ACTOR = 'system:expiry';
export const ERP_CONFIRMATION_ACTOR = 'system:erp-confirmation';

export interface ReservationLineInput {
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
}

/** The most lines one reservation may hold. */
export const MAX_RESERVATION_LINES = 250;

/**
 * Either `lines` (one or more positions, held all or none) or the single-line form (`sku`,
 * `location`, `quantity`), never both.
 */
export interface ReserveInventoryInput {
  readonly sku?: string | null | undefined;
  readonly location?: string | null | undefined;
  readonly quantity?: number | null | undefined;
  readonly lines?: readonly ReservationLineInput[] | null | undefined;
  readonly reference: string;
  readonly idempotencyKey: string;
  /** Absent = the configured default (RESERVATION_DEFAULT_TTL_SECONDS). */
  readonly ttlSeconds?: number | null | undefined;
}

/** Why one line of a refused reservation could not be held. */
export type LineRefusal = 'INSUFFICIENT_STOCK' | 'SKU_NOT_FOUND' | 'LOCATION_NOT_FOUND';

/** A line that could not be held (a refusal names every such line; the others were coverable). */
export interface ShortLine {
  readonly line: number;
  readonly sku: string;
  readonly location: string;
  readonly requested: number;
  /** Units available to promise at the moment of the decision (0 for an unknown position). */
  readonly available: number;
  readonly reason: LineRefusal;
}

/**
 * The expected outcomes of `reserve` (the unexpected is thrown). A refusal holds nothing: it is
 * 'not-found' when any line's SKU or location is unknown, else 'insufficient-stock'; its top-level
 * fields describe the first short line of that kind, and `lines` every short line.
 */
export type ReserveOutcome =
  | { readonly kind: 'reserved'; readonly reservation: ReservationRecord; /** true when an earlier call with this key made it */ readonly replayed: boolean }
  | {
      readonly kind: 'insufficient-stock';
      readonly sku: string;
      readonly location: string;
      readonly requested: number;
      /** Units available to promise at the moment of the decision. */
      readonly availableToPromise: number;
      readonly lines: readonly ShortLine[];
    }
  | { readonly kind: 'not-found'; readonly sku: string; readonly location: string; readonly unknown: 'sku' | 'location'; readonly lines: readonly ShortLine[] };

export interface ReservationFilter {
  readonly sku?: string | null | undefined;
  readonly location?: string | null | undefined;
  readonly status?: ReservationStatus | null | undefined;
  /** Exact matches. */
  readonly reference?: string | null | undefined;
  readonly idempotencyKey?: string | null | undefined;
  /** The API key id that created it. */
  readonly createdBy?: string | null | undefined;
}
