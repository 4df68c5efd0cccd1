export const reservationStatuses = ['ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'] as const;
export type ReservationStatus = (typeof reservationStatuses)[number];

/** A reservation as the service returns it. Quantities are whole ERP stock units. */
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

/** One recorded transition (the audit trail). */
export interface ReservationEventRecord {
  readonly reservationId: string;
  readonly fromStatus: ReservationStatus | null;
  readonly toStatus: ReservationStatus;
  readonly actor: string;
  readonly reason: 'RESERVED' | 'RELEASED' | 'COMMITTED' | 'EXPIRED' | 'ERP_CONFIRMED';
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

export interface ReserveInventoryInput {
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  readonly reference: string;
  readonly idempotencyKey: string;
  /** Absent = the configured default (RESERVATION_DEFAULT_TTL_SECONDS). */
  readonly ttlSeconds?: number | null | undefined;
}

/** The expected outcomes of `reserve` (the unexpected is thrown). */
export type ReserveOutcome =
  | { readonly kind: 'reserved'; readonly reservation: ReservationRecord; /** true when an earlier call with this key made it */ readonly replayed: boolean }
  | {
      readonly kind: 'insufficient-stock';
      readonly sku: string;
      readonly location: string;
      readonly requested: number;
      /** Units available to promise at the moment of the decision. */
      readonly availableToPromise: number;
    }
  | { readonly kind: 'not-found'; readonly sku: string; readonly location: string; readonly unknown: 'sku' | 'location' };

export interface ReservationFilter {
  readonly sku?: string | null | undefined;
  readonly location?: string | null | undefined;
  readonly status?: ReservationStatus | null | undefined;
}

export interface ReservationPage {
  readonly items: readonly { readonly cursor: string; readonly reservation: ReservationRecord }[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}
