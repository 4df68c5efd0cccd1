/**
 * What the orders domain reports to the success metrics (src/health/, through a port the
 * composition root passes in; orders never import the health domain): each ERP order attempt's
 * outcome, for the error rate, and each order Shopify accepted beyond the ATP, for the oversell
 * incidents. Absent (tests that build the orders domain alone): nothing is reported.
 */

/** Units of an order that the ATP could not cover when they were first counted as pending. */
export interface OversellFinding {
  readonly sku: string;
  readonly location: string;
  /** The gateway's order id (`Order.id`). */
  readonly orderId: string;
  /** Units beyond the ATP (the ERP's stock unit). */
  readonly units: number;
  /**
   * As counted in the transaction that found it (`OversellJudge` in pending-units.repository.ts judges it again after the
   * commit): the units the order added there, and the ATP left for them before (unclamped).
   */
  readonly added?: number;
  readonly atpLeft?: number;
}

export interface OrderHealthPort {
  /** One order attempt towards the ERP: `true` sent (or found there), `false` failed or retried. */
  recordOrderAttempt(ok: boolean): Promise<void>;
  /** An oversell incident (deduplicated per order and position by the recorder); answers whether it is new. */
  recordOversell(report: {
    readonly sku: string;
    readonly location: string;
    readonly orderId: string | null;
    readonly units: number;
    readonly source: 'ORDER_BEYOND_ATP';
  }): Promise<boolean>;
}
