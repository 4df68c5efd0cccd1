import { describe, expect, it } from 'vitest';
import { findOwnFulfillment, planFulfilment, type ItemIdentity } from '../../src/fulfilments/fulfilment-plan.js';
import { shopifyOrderIdOfReference } from '../../src/fulfilments/fulfilments.models.js';
import type { ShopifyOrderFulfilments } from '../../src/shopify/shopify-client.js';

const LEEDS = 'gid://shopify/Location/1';
const GLASGOW = 'gid://shopify/Location/2';

function state(overrides: Partial<ShopifyOrderFulfilments> = {}): ShopifyOrderFulfilments {
  return {
    orderId: 'gid://shopify/Order/7',
    cancelledAt: null,
    fulfillmentOrders: [
      {
        id: 'FO-1',
        status: 'OPEN',
        locationId: LEEDS,
        lineItems: [
          { id: 'FOL-1', lineItemId: 'LI-1', sku: 'screws-box', inventoryItemId: 'II-1', totalQuantity: 24, remainingQuantity: 24 },
          { id: 'FOL-2', lineItemId: 'LI-2', sku: 'HINGE', inventoryItemId: 'II-2', totalQuantity: 2, remainingQuantity: 1 },
        ],
      },
      {
        id: 'FO-2',
        status: 'OPEN',
        locationId: GLASGOW,
        lineItems: [{ id: 'FOL-3', lineItemId: 'LI-3', sku: 'HINGE', inventoryItemId: 'II-2', totalQuantity: 5, remainingQuantity: 5 }],
      },
    ],
    fulfillments: [],
    ...overrides,
  };
}

const items = new Map<string, ItemIdentity>([
  // The ERP stocks screws by the case of 12; the shop sells boxes.
  ['SCREW-CASE', { inventoryItemIds: new Set(['II-1']), skus: new Set(['screw-case']), conversion: { erpUnits: 1, shopifyUnits: 12 } }],
]);
const locations = new Map([['LDS', new Set([LEEDS])]]);

describe('planning a fulfilment from a shipment', () => {
  it('converts ERP units, matches by inventory item or SKU, and ships from the location mapped to the shipment’s warehouse', () => {
    const plan = planFulfilment({
      lines: [
        { sku: 'SCREW-CASE', quantity: 2, location: 'LDS', lotNumber: null },
        { sku: 'HINGE', quantity: 1, location: 'LDS', lotNumber: null },
      ],
      state: state(),
      items,
      locations,
    });
    expect(plan).toEqual({
      kind: 'fulfil',
      locationId: LEEDS,
      lines: [
        { fulfillmentOrderId: 'FO-1', fulfillmentOrderLineItemId: 'FOL-1', lineItemId: 'LI-1', quantity: 24 },
        { fulfillmentOrderId: 'FO-1', fulfillmentOrderLineItemId: 'FOL-2', lineItemId: 'LI-2', quantity: 1 },
      ],
      leftOver: [],
    });
  });

  it('never takes more than remains: units fulfilled already are left over', () => {
    const plan = planFulfilment({ lines: [{ sku: 'HINGE', quantity: 2, location: 'LDS', lotNumber: null }], state: state(), items, locations });
    expect(plan).toMatchObject({ kind: 'fulfil', locationId: LEEDS, lines: [{ fulfillmentOrderLineItemId: 'FOL-2', quantity: 1 }], leftOver: [{ sku: 'HINGE', units: 1 }] });
  });

  it('uses another location when the mapped one has nothing left, and says nothing is left when no open line remains', () => {
    const elsewhere = planFulfilment({ lines: [{ sku: 'HINGE', quantity: 3, location: 'BRS', lotNumber: null }], state: state(), items, locations });
    expect(elsewhere).toMatchObject({ kind: 'fulfil', locationId: GLASGOW, lines: [{ fulfillmentOrderLineItemId: 'FOL-3', quantity: 3 }] });
    const closed = state();
    const shut = { ...closed, fulfillmentOrders: closed.fulfillmentOrders.map((order) => ({ ...order, status: 'CLOSED' })) };
    expect(planFulfilment({ lines: [{ sku: 'HINGE', quantity: 1, location: 'LDS', lotNumber: null }], state: shut, items, locations })).toEqual({ kind: 'nothing-left' });
  });

  it('reports SKUs that match no line of the order', () => {
    expect(planFulfilment({ lines: [{ sku: 'NUT-M8', quantity: 1, location: 'LDS', lotNumber: null }], state: state(), items, locations })).toEqual({ kind: 'unmatched', skus: ['NUT-M8'] });
  });
});

describe('finding the fulfilment a lost answer made', () => {
  const row = {
    plannedLines: [{ fulfillmentOrderId: 'FO-1', fulfillmentOrderLineItemId: 'FOL-2', lineItemId: 'LI-2', quantity: 1 }],
    submittedAt: new Date('2026-12-06T10:00:00Z'),
    trackingNumber: 'TRK-1',
  };
  const fulfillment = (id: string, createdAt: string, number: string | null, quantity = 1) => ({
    id,
    status: 'SUCCESS',
    createdAt,
    tracking: number ? [{ number, company: null, url: null }] : [],
    lines: [{ lineItemId: 'LI-2', quantity }],
  });

  it('is one made since it was sent, with the planned units and the tracking number, not recorded by another shipment', () => {
    const fulfillments = [
      fulfillment('F-old', '2026-12-05T10:00:00Z', 'TRK-1'),
      fulfillment('F-other', '2026-12-06T10:00:01Z', 'TRK-1'),
      fulfillment('F-hand', '2026-12-06T10:00:02Z', 'RM-9'),
      fulfillment('F-more', '2026-12-06T10:00:03Z', 'TRK-1', 2),
      fulfillment('F-mine', '2026-12-06T10:00:04Z', 'TRK-1'),
    ];
    expect(findOwnFulfillment(row, state({ fulfillments }), new Set(['F-other']))).toBe('F-mine');
    expect(findOwnFulfillment(row, state({ fulfillments: fulfillments.slice(0, 4) }), new Set(['F-other']))).toBeNull();
  });
});

describe('the Shopify order of a sales order', () => {
  it('is read back from the external reference, split suffix included; other channels have none', () => {
    expect(shopifyOrderIdOfReference('gid://shopify/Order/450789469')).toBe('450789469');
    expect(shopifyOrderIdOfReference('gid://shopify/Order/450789469@LDS')).toBe('450789469');
    expect(shopifyOrderIdOfReference('WS-2024-001')).toBeNull();
  });
});
