import { describe, expect, it } from 'vitest';
import { compareAtp } from '../../../src/simulators/black-friday/atp-check.js';
import { emptyLedger } from '../../../src/simulators/black-friday/ledger.js';

/**
 * The ATP check after the settle: the ledger's free units (existed − consumed) less what the
 * gateway rightly keeps reserved, against the gateway's ATP. An ATP held too low is hidden stock,
 * one too high is over-promised stock; equal positions are not listed.
 */
describe('the ATP check after the settle', () => {
  const ledger = emptyLedger();
  ledger.existed.set('HOT@N', 44);
  ledger.existed.set('HOT@S', 44);
  ledger.existed.set('STD@N', 50);
  ledger.accepted.push({ reference: 'o1', placedAt: 0, lines: [{ sku: 'HOT', location: 'N', quantity: 40 }], cancelled: false });
  ledger.accepted.push({ reference: 'o2', placedAt: 0, lines: [{ sku: 'HOT', location: 'N', quantity: 3 }], cancelled: true });
  ledger.accepted.push({ reference: 'o3', placedAt: 0, lines: [{ sku: 'HOT', location: 'S', quantity: 44 }], cancelled: false });
  ledger.wholesale.set('STD@N', 5);
  ledger.erpSales.set('STD@N', 2);

  it('finds hidden units where the ATP is below what is free, and over-promised ones where it is above', () => {
    const check = compareAtp(ledger, [
      // 44 − 40 (the cancelled order does not count) = 4 free; the gateway says 0: 4 hidden.
      { sku: 'HOT', location: 'N', atp: 0, reserved: 0, terms: {} },
      // sold out and the gateway agrees
      { sku: 'HOT', location: 'S', atp: 0, reserved: 0, terms: {} },
      // 50 − 5 − 2 = 43 free, 3 still reserved: 40 expected; the gateway offers 41
      { sku: 'STD', location: 'N', atp: 41, reserved: 3, terms: { reserved: 3 } },
    ]);
    expect(check).toMatchObject({ positions: 3, hiddenUnits: 4, overPromisedUnits: 1, mismatches: 2 });
    expect(check.sample.map((m) => [m.sku, m.location, m.expected, m.atp])).toEqual([
      ['HOT', 'N', 4, 0],
      ['STD', 'N', 40, 41],
    ]);
  });

  it('reports nothing when every ATP is the truth', () => {
    const check = compareAtp(ledger, [
      { sku: 'HOT', location: 'N', atp: 4, reserved: 0, terms: {} },
      { sku: 'STD', location: 'N', atp: 40, reserved: 3, terms: {} },
    ]);
    expect(check).toMatchObject({ hiddenUnits: 0, overPromisedUnits: 0, mismatches: 0, sample: [] });
  });
});
