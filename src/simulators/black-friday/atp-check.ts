import type { GatewayClient } from './instance-client.js';
import { positionKey, type Ledger } from './ledger.js';

/**
 * After the settle, is the gateway's ATP the truth? Drift (ATP against Shopify's `available`)
 * cannot tell: an ATP held too low is pushed to Shopify too, and the two agree while units stay
 * hidden (underselling). The ledger knows what is really free at each position: the units that
 * existed (initial stock and receipts) minus those consumed (Shopify's accepted orders net of
 * cancellations, wholesale orders put into the ERP, the ERP's other channels). What the gateway
 * still rightly holds on top of that is what wholesale apps keep reserved (its own `reserved`
 * term). The ATP should equal `max(0, free − reserved)`; the difference either way is reported.
 */
export interface AtpMismatch {
  readonly sku: string;
  readonly location: string;
  /** Units really free (ledger) less the gateway's `reserved`, at least 0. */
  readonly expected: number;
  readonly atp: number;
  /** The gateway's terms as it shows them, to see which one is off. */
  readonly terms: Readonly<Record<string, number>>;
}

export interface AtpCheck {
  readonly positions: number;
  /** Units the ATP hid (expected above the ATP), summed. */
  readonly hiddenUnits: number;
  /** Units the ATP offered beyond what was free (ATP above expected), summed. */
  readonly overPromisedUnits: number;
  readonly mismatches: number;
  readonly sample: readonly AtpMismatch[];
}

interface Page {
  products: {
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: {
      node: {
        sku: string;
        availability: {
          location: { code: string };
          onHand: number;
          allocated: number;
          wholesaleCommitted: number;
          reserved: number;
          pendingShopifyOrders: number;
          safetyStock: number;
          availableToPromise: number;
        }[];
      };
    }[];
  };
}

const QUERY = `query ($after: String) { products(first: 250, after: $after) { pageInfo { hasNextPage endCursor } edges { node { sku
  availability { location { code } onHand allocated wholesaleCommitted reserved pendingShopifyOrders safetyStock availableToPromise } } } } }`;

/** Pure: the comparison, given the gateway's positions as read. */
export function compareAtp(ledger: Ledger, positions: readonly { sku: string; location: string; atp: number; reserved: number; terms: Record<string, number> }[]): AtpCheck {
  const consumed = new Map<string, number>();
  const add = (key: string, units: number) => consumed.set(key, (consumed.get(key) ?? 0) + units);
  for (const order of ledger.accepted) {
    if (order.cancelled) continue;
    for (const line of order.lines) add(positionKey(line.sku, line.location), line.quantity);
  }
  for (const source of [ledger.wholesale, ledger.erpSales]) for (const [key, units] of source) add(key, units);
  let hiddenUnits = 0;
  let overPromisedUnits = 0;
  const mismatches: AtpMismatch[] = [];
  for (const position of positions) {
    const key = positionKey(position.sku, position.location);
    const free = (ledger.existed.get(key) ?? 0) - (consumed.get(key) ?? 0);
    const expected = Math.max(0, Math.floor(free - position.reserved));
    if (expected === position.atp) continue;
    if (expected > position.atp) hiddenUnits += expected - position.atp;
    else overPromisedUnits += position.atp - expected;
    mismatches.push({ sku: position.sku, location: position.location, expected, atp: position.atp, terms: position.terms });
  }
  return { positions: positions.length, hiddenUnits, overPromisedUnits, mismatches: mismatches.length, sample: mismatches.slice(0, 20) };
}

/** Reads every position of the run's SKUs at its locations through the gateway and compares. */
export async function checkAtp(client: GatewayClient, ledger: Ledger, skus: readonly string[], locations: readonly string[]): Promise<AtpCheck> {
  const wanted = new Set(skus);
  const positions: { sku: string; location: string; atp: number; reserved: number; terms: Record<string, number> }[] = [];
  let after: string | null = null;
  do {
    const page: Page = await client.request<Page>(QUERY, { after });
    for (const { node } of page.products.edges) {
      if (!wanted.has(node.sku)) continue;
      for (const level of node.availability) {
        if (!locations.includes(level.location.code)) continue;
        const { location, availableToPromise, ...terms } = level;
        positions.push({ sku: node.sku, location: location.code, atp: availableToPromise, reserved: level.reserved, terms });
      }
    }
    after = page.products.pageInfo.hasNextPage ? page.products.pageInfo.endCursor : null;
  } while (after !== null);
  return compareAtp(ledger, positions);
}
