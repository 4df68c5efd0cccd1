import { describe, expect, it } from 'vitest';
import { addUnits, emptyLedger, judgeLedger, percentile, positionKey, type ErpSaleFacts, type Ledger } from '../../../src/simulators/black-friday/ledger.js';

function ledgerWith(existed: Record<string, number>): Ledger {
  const ledger = emptyLedger();
  for (const [key, units] of Object.entries(existed)) ledger.existed.set(key, units);
  return ledger;
}

function order(ledger: Ledger, n: number, sku: string, quantity: number, cancelled = false): void {
  ledger.accepted.push({ reference: `gid://shopify/Order/${n}`, placedAt: n, lines: [{ sku, location: 'WH', quantity }], cancelled });
}

describe('the Black Friday verdict', () => {
  it('counts lost, doubled and cancelled orders from what the ERP holds', () => {
    const ledger = ledgerWith({ [positionKey('A', 'WH')]: 100 });
    order(ledger, 1, 'A', 1);
    order(ledger, 2, 'A', 1);
    order(ledger, 3, 'A', 1, true);
    order(ledger, 4, 'A', 1, true);
    order(ledger, 5, 'A', 1);
    ledger.refused = 3;
    const erp: Record<string, ErpSaleFacts> = {
      'gid://shopify/Order/1': { sales: 1, cancelled: false },
      'gid://shopify/Order/2': { sales: 2, cancelled: false },
      'gid://shopify/Order/3': { sales: 0, cancelled: false },
      'gid://shopify/Order/4': { sales: 1, cancelled: false },
    };
    const verdict = judgeLedger(ledger, (reference) => erp[reference] ?? { sales: 0, cancelled: false });
    expect(verdict).toMatchObject({
      placed: 8,
      accepted: 5,
      cancelled: 2,
      inErp: 3,
      lost: 1,
      lostReferences: ['gid://shopify/Order/5'],
      duplicated: 1,
      duplicatedReferences: ['gid://shopify/Order/2'],
      cancelledButLive: 1,
      oversold: 0,
    });
  });

  it('finds units oversold per SKU and location: Shopify net of cancellations, wholesale and ERP-side sales beyond initial plus received', () => {
    const ledger = ledgerWith({ [positionKey('HOT', 'WH')]: 10, [positionKey('COLD', 'WH')]: 50 });
    addUnits(ledger.existed, positionKey('HOT', 'WH'), 5); // a receipt
    order(ledger, 1, 'HOT', 8);
    order(ledger, 2, 'HOT', 4);
    order(ledger, 3, 'HOT', 6, true); // cancelled: gives its units back
    addUnits(ledger.wholesale, positionKey('HOT', 'WH'), 3);
    addUnits(ledger.erpSales, positionKey('HOT', 'WH'), 2);
    addUnits(ledger.erpSales, positionKey('COLD', 'WH'), 50);
    addUnits(ledger.wholesale, positionKey('NEW', 'WH'), 1); // nothing ever existed

    const verdict = judgeLedger(ledger, () => ({ sales: 1, cancelled: true }));

    expect(verdict.oversoldPositions).toEqual([
      { sku: 'HOT', location: 'WH', existed: 15, consumed: 17, shopify: 12, wholesale: 3, erpSales: 2, oversold: 2 },
      { sku: 'NEW', location: 'WH', existed: 0, consumed: 1, shopify: 0, wholesale: 1, erpSales: 0, oversold: 1 },
    ]);
    expect(verdict.oversold).toBe(3);
    expect(verdict.lost).toBe(0);
  });

  it('takes percentiles by nearest rank', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
  });
});
