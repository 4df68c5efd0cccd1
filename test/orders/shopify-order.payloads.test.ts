import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatMoney, netUnitPrice, parseMoney } from '../../src/orders/money.js';
import { contentDigestOf, MalformedWebhookBody, parseWebhookBody } from '../../src/orders/shopify-order.payloads.js';
import { verifyShopifyWebhook } from '../../src/orders/webhook-signature.js';
import { signWebhookBody } from '../../src/simulators/shopify/index.js';

const sample = (name: string) => readFileSync(new URL(`../../vendor/shopify/${name}`, import.meta.url), 'utf8');

describe('Shopify webhook bodies', () => {
  it('reads Shopify’s own order sample: ids, lines with their variant gids, customer and shipping address', () => {
    const parsed = parseWebhookBody('orders/create', sample('rest-order-2026-07.sample.json'));
    if (parsed.kind !== 'order') throw new Error('not an order');
    const { snapshot } = parsed;
    expect(snapshot).toMatchObject({ shopifyOrderId: '450789469', name: '#1001', currency: 'USD', cancelledAt: null, test: false, locationId: null });
    expect(snapshot.customer).toEqual({ name: 'Bob Norman', email: 'bob.norman@mail.example.com', phone: '+557734881234' });
    expect(snapshot.shippingAddress).toMatchObject({ line1: 'Chestnut Street 92', city: 'Louisville', postalCode: '40202', countryCode: 'US', provinceCode: 'KY' });
    expect(snapshot.lines.map((line) => [line.lineItemId, line.sku, line.variantId, line.quantity, line.currentQuantity])).toEqual([
      ['466157049', 'IPOD2008GREEN', 'gid://shopify/ProductVariant/39072856', 1, 0],
      ['518995019', 'IPOD2008RED', 'gid://shopify/ProductVariant/49148385', 1, 1],
      ['703073504', 'IPOD2008BLACK', 'gid://shopify/ProductVariant/457924702', 1, 0],
    ]);
    // 199.00 less its 3.34 discount allocation, taxes not included in the price.
    expect(snapshot.lines[0]!.unitPrice).toBe('195.66');
  });

  it('reads the cancelled order and refund samples', () => {
    const cancelled = parseWebhookBody('orders/cancelled', sample('rest-order-cancelled-2026-07.sample.json'));
    expect(cancelled.kind === 'order' && cancelled.snapshot.cancelledAt).toBe(new Date('2025-04-02T11:31:25-05:00').toISOString());
    const refund = parseWebhookBody('refunds/create', sample('rest-refund-2026-07.sample.json'));
    if (refund.kind !== 'refund') throw new Error('not a refund');
    expect(refund.refund).toMatchObject({ refundId: '929361472', shopifyOrderId: '450789469' });
    expect(refund.refund.lines).toEqual([{ lineItemId: '518995019', quantity: 1, restockType: 'no_restock', locationId: null }]);
  });

  it('says what is wrong with a body that is not what its topic promises', () => {
    expect(() => parseWebhookBody('orders/create', '{"id":1}')).toThrow(MalformedWebhookBody);
    expect(() => parseWebhookBody('orders/create', '{"id":1}')).toThrow(/line_items/);
    expect(() => parseWebhookBody('refunds/create', '[]')).toThrow(/not a Shopify refund/);
    expect(() => parseWebhookBody('orders/updated', '{"id": 1, ')).toThrow(/not JSON/);
  });

  it('gives the same content digest to a snapshot whose keys came back from the database in another order', () => {
    const parsed = parseWebhookBody('orders/create', sample('rest-order-2026-07.sample.json'));
    if (parsed.kind !== 'order') throw new Error('not an order');
    const reordered = JSON.parse(JSON.stringify(parsed.snapshot, Object.keys(parsed.snapshot).sort().concat(...Object.keys(parsed.snapshot.shippingAddress!).reverse(), 'lines', 'lineItemId', 'sku', 'variantId', 'quantity', 'currentQuantity', 'editedAwayQuantity', 'unitPrice', 'giftCard', 'title')));
    expect(contentDigestOf(reordered)).toBe(contentDigestOf(parsed.snapshot));
    const edited = { ...parsed.snapshot, lines: parsed.snapshot.lines.map((line, i) => (i === 0 ? { ...line, quantity: line.quantity + 1 } : line)) };
    expect(contentDigestOf(edited)).not.toBe(contentDigestOf(parsed.snapshot));
  });
});

describe('money', () => {
  it('computes net unit prices exactly, after discounts and included tax', () => {
    expect(netUnitPrice({ unitPrice: '19.90', quantity: 3, discounts: [], includedTaxes: [] })).toBe('19.90');
    expect(netUnitPrice({ unitPrice: '10.00', quantity: 3, discounts: ['1.00'], includedTaxes: [] })).toBe('9.67');
    expect(netUnitPrice({ unitPrice: '12.00', quantity: 1, discounts: [], includedTaxes: ['2.00'] })).toBe('10.00');
    expect(netUnitPrice({ unitPrice: '1000', quantity: 2, discounts: ['10'], includedTaxes: [] })).toBe('995.00');
    expect(formatMoney(parseMoney('0.005'), 2)).toBe('0.01');
    expect(formatMoney(parseMoney('-2.345'), 2)).toBe('-2.35');
  });
});

describe('webhook signature', () => {
  const body = Buffer.from('{"id":1}');
  it('accepts the HMAC Shopify computes and refuses any other, in any form', () => {
    const signature = signWebhookBody('secret-1', body);
    expect(verifyShopifyWebhook(['secret-1'], body, signature)).toBe(true);
    expect(verifyShopifyWebhook(['secret-2'], body, signature)).toBe(false);
    expect(verifyShopifyWebhook(['secret-1'], Buffer.from('{"id":2}'), signature)).toBe(false);
    expect(verifyShopifyWebhook(['secret-1'], body, undefined)).toBe(false);
    expect(verifyShopifyWebhook(['secret-1'], body, 'not base64 at all')).toBe(false);
    expect(verifyShopifyWebhook([], body, signature)).toBe(false);
  });

  it('accepts the previous secret during a rotation', () => {
    expect(verifyShopifyWebhook(['new-secret', 'old-secret'], body, signWebhookBody('old-secret', body))).toBe(true);
  });
});
