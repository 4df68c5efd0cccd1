import { describe, expect, it } from 'vitest';
import type { StoreTakeGroup } from '../../src/inventory/inventory.port.js';
import { createGroupHints } from '../../src/reservations/group-hints.js';

const group = (sku: string, erpLocations: string[]): StoreTakeGroup => ({
  key: `item-${sku}|loc-1`,
  sku,
  inventoryItemId: `item-${sku}`,
  shopifyLocationId: 'loc-1',
  erpLocations,
  conversion: { erpUnits: 1, shopifyUnits: 1 },
});

describe('group hints (which positions a batch locks before its Shopify levels are looked up)', () => {
  it('knows nothing of a position never looked up, so its batch looks the levels up first', () => {
    expect(createGroupHints().expected([{ sku: 'A', location: 'WH1' }])).toBeNull();
  });

  it('remembers every position of the level a position fed, and that an unpushed one fed none', () => {
    const hints = createGroupHints();
    hints.learn(
      [
        { sku: 'A', location: 'WH1' },
        { sku: 'B', location: 'WH1' },
      ],
      [group('A', ['WH1', 'WH2'])],
    );
    expect(hints.expected([{ sku: 'A', location: 'WH1' }])).toEqual([
      { sku: 'A', location: 'WH1' },
      { sku: 'A', location: 'WH2' },
    ]);
    expect(hints.expected([{ sku: 'B', location: 'WH1' }])).toBeNull();
  });

  it('forgets a level once a lookup no longer finds it (a SKU unmapped)', () => {
    const hints = createGroupHints();
    const position = { sku: 'A', location: 'WH1' };
    hints.learn([position], [group('A', ['WH1'])]);
    hints.learn([position], []);
    expect(hints.expected([position])).toBeNull();
  });

  it('starts again past its limit', () => {
    const hints = createGroupHints(2);
    hints.learn([{ sku: 'A', location: 'WH1' }], [group('A', ['WH1'])]);
    hints.learn(
      [
        { sku: 'B', location: 'WH1' },
        { sku: 'C', location: 'WH1' },
      ],
      [group('B', ['WH1']), group('C', ['WH1'])],
    );
    expect(hints.expected([{ sku: 'A', location: 'WH1' }])).toBeNull();
    expect(hints.expected([{ sku: 'B', location: 'WH1' }])).toEqual([{ sku: 'B', location: 'WH1' }]);
  });
});
