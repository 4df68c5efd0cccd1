/**
 * What the Black Friday simulation counts while it runs, and the arithmetic of its verdict:
 * orders lost or doubled on the way to the ERP, and units sold beyond the units that existed.
 * Pure: the run fills a `Ledger`, `judgeLedger` reads it (and the unit tests feed it made-up ones).
 */

/** A (SKU, ERP location) pair as one key. */
export function positionKey(sku: string, location: string): string {
  return `${sku}@${location}`;
}

export interface LedgerOrder {
  /** The ERP's external reference of the order (`gid://shopify/Order/N`). */
  readonly reference: string;
  readonly placedAt: number;
  readonly lines: readonly { readonly sku: string; readonly location: string; readonly quantity: number }[];
  cancelled: boolean;
}

export interface Ledger {
  /** Units on hand at the start and every unit received since, per position. */
  readonly existed: Map<string, number>;
  /** Orders Shopify accepted. */
  readonly accepted: LedgerOrder[];
  /** Orders Shopify refused (out of stock there): placed, not accepted. */
  refused: number;
  /** Units the wholesale app put into the ERP as wholesale orders after reserving them, per position. */
  readonly wholesale: Map<string, number>;
  /** Units sold in the ERP by other channels (not through the gateway), per position. */
  readonly erpSales: Map<string, number>;
}

export function emptyLedger(): Ledger {
  return { existed: new Map(), accepted: [], refused: 0, wholesale: new Map(), erpSales: new Map() };
}

export function addUnits(map: Map<string, number>, key: string, units: number): void {
  map.set(key, (map.get(key) ?? 0) + units);
}

/** What the ERP holds for an order reference: how many sales carry it, and whether the live one is cancelled. */
export interface ErpSaleFacts {
  readonly sales: number;
  readonly cancelled: boolean;
}

export interface OversoldSku {
  readonly sku: string;
  readonly location: string;
  readonly existed: number;
  readonly consumed: number;
  /** Of `consumed`: units Shopify sold (net of cancellations), wholesale put into the ERP, other channels sold in the ERP. */
  readonly shopify: number;
  readonly wholesale: number;
  readonly erpSales: number;
  readonly oversold: number;
}

export interface LedgerVerdict {
  readonly placed: number;
  readonly accepted: number;
  readonly cancelled: number;
  /** Accepted orders with at least one sale in the ERP. */
  readonly inErp: number;
  /** Accepted, not cancelled, and no sale in the ERP. */
  readonly lost: number;
  readonly lostReferences: readonly string[];
  /** Orders with more than one sale in the ERP. */
  readonly duplicated: number;
  readonly duplicatedReferences: readonly string[];
  /** Cancelled in Shopify while the ERP keeps a live sale. */
  readonly cancelledButLive: number;
  /** Units sold beyond the units that existed, summed over positions. */
  readonly oversold: number;
  readonly oversoldPositions: readonly OversoldSku[];
}

/**
 * Consumed per position = Shopify accepted minus cancelled + wholesale put into the ERP + ERP-side
 * sales; oversold = consumed beyond existed (initial + received), never negative.
 */
export function judgeLedger(ledger: Ledger, erpSale: (reference: string) => ErpSaleFacts): LedgerVerdict {
  const consumed = new Map<string, number>();
  const shopify = new Map<string, number>();
  let inErp = 0;
  let cancelled = 0;
  let cancelledButLive = 0;
  const lostReferences: string[] = [];
  const duplicatedReferences: string[] = [];
  for (const order of ledger.accepted) {
    const facts = erpSale(order.reference);
    if (facts.sales > 0) inErp += 1;
    if (facts.sales > 1) duplicatedReferences.push(order.reference);
    if (order.cancelled) {
      cancelled += 1;
      if (facts.sales > 0 && !facts.cancelled) cancelledButLive += 1;
      continue;
    }
    if (facts.sales === 0) lostReferences.push(order.reference);
    for (const line of order.lines) addUnits(shopify, positionKey(line.sku, line.location), line.quantity);
  }
  for (const source of [shopify, ledger.wholesale, ledger.erpSales]) for (const [key, units] of source) addUnits(consumed, key, units);
  const oversoldPositions: OversoldSku[] = [];
  for (const [key, used] of [...consumed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const existed = ledger.existed.get(key) ?? 0;
    if (used > existed) {
      const at = key.lastIndexOf('@');
      oversoldPositions.push({
        sku: key.slice(0, at),
        location: key.slice(at + 1),
        existed,
        consumed: used,
        shopify: shopify.get(key) ?? 0,
        wholesale: ledger.wholesale.get(key) ?? 0,
        erpSales: ledger.erpSales.get(key) ?? 0,
        oversold: used - existed,
      });
    }
  }
  return {
    placed: ledger.accepted.length + ledger.refused,
    accepted: ledger.accepted.length,
    cancelled,
    inErp,
    lost: lostReferences.length,
    lostReferences,
    duplicated: duplicatedReferences.length,
    duplicatedReferences,
    cancelledButLive,
    oversold: oversoldPositions.reduce((sum, p) => sum + p.oversold, 0),
    oversoldPositions,
  };
}

/** The q-quantile (0–1) of the samples by nearest rank; null without samples. */
export function percentile(samples: readonly number[], q: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}
