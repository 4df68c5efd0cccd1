import { describe, expect, it } from 'vitest';
import { skuSearchTerm } from '../../src/shopify/admin-api-shopify-client.js';
import { backoffDelayMs, retryAfterMs } from '../../src/shopify/admin-api-transport.js';
import { idempotencyKey, quantityPosition } from '../../src/shopify/set-available-quantities.js';
import { parseOperation, requestedQueryCost } from '../../src/shopify/query-cost.js';

const request = {
  reason: 'correction',
  referenceDocumentUri: 'gid://stockbridge/SyncRun/1',
  quantities: [
    { inventoryItemId: 'gid://shopify/InventoryItem/1', locationId: 'gid://shopify/Location/1', quantity: 5, changeFromQuantity: 3 },
    { inventoryItemId: 'gid://shopify/InventoryItem/2', locationId: 'gid://shopify/Location/1', quantity: 0, changeFromQuantity: null },
  ],
};

describe('idempotency keys', () => {
  it('are the same for the same batch, chunk and contents, so a retried request applies once', () => {
    expect(idempotencyKey('run-1', 0, 0, request)).toBe(idempotencyKey('run-1', 0, 0, structuredClone(request)));
  });

  it('change when anything the request sends changes', () => {
    const base = idempotencyKey('run-1', 0, 0, request);
    const changedQuantity = { ...request, quantities: [{ ...request.quantities[0]!, quantity: 6 }, request.quantities[1]!] };
    const changedCompare = { ...request, quantities: [{ ...request.quantities[0]!, changeFromQuantity: 4 }, request.quantities[1]!] };
    const subset = { ...request, quantities: [request.quantities[0]!] };
    const keys = [
      base,
      idempotencyKey('run-2', 0, 0, request),
      idempotencyKey('run-1', 1, 0, request),
      idempotencyKey('run-1', 0, 1, request),
      idempotencyKey('run-1', 0, 0, changedQuantity),
      idempotencyKey('run-1', 0, 0, changedCompare),
      idempotencyKey('run-1', 0, 0, subset),
      idempotencyKey('run-1', 0, 0, { ...request, reason: 'received' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('look like UUIDs, which Shopify recommends', () => {
    expect(idempotencyKey('run-1', 0, 0, request)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('userError field paths', () => {
  it('name the position of the refused quantity', () => {
    expect(quantityPosition(['input', 'quantities', '3', 'changeFromQuantity'])).toBe(3);
    expect(quantityPosition(['input', 'quantities', '0'])).toBe(0);
  });

  it('name no quantity when the error is about the whole call', () => {
    expect(quantityPosition(['input', 'reason'])).toBeNull();
    expect(quantityPosition(null)).toBeNull();
    expect(quantityPosition(['input', 'quantities'])).toBeNull();
  });
});

describe('SKU search terms', () => {
  it('leave plain SKUs bare', () => {
    expect(skuSearchTerm('ABC-123')).toBe('sku:ABC-123');
  });

  it('quote SKUs with spaces, colons, quotes or wildcards', () => {
    expect(skuSearchTerm('A B')).toBe('sku:"A B"');
    expect(skuSearchTerm('A:B')).toBe('sku:"A:B"');
    expect(skuSearchTerm('AB*')).toBe('sku:"AB*"');
    expect(skuSearchTerm('say "hi"')).toBe('sku:"say \\"hi\\""');
    expect(skuSearchTerm('-neg')).toBe('sku:"-neg"');
  });
});

describe('retry timing', () => {
  it('reads Retry-After in seconds, as Shopify sends it', () => {
    expect(retryAfterMs('2.0')).toBe(2000);
    expect(retryAfterMs('0.5')).toBe(500);
    expect(retryAfterMs(null)).toBeNull();
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:00 GMT', Date.parse('Wed, 21 Oct 2026 07:27:00 GMT'))).toBe(60_000);
  });

  it('backs off exponentially with jitter, up to a ceiling', () => {
    const policy = { baseDelayMs: 500, maxDelayMs: 30_000 };
    expect(backoffDelayMs(1, policy, () => 0)).toBe(250);
    expect(backoffDelayMs(1, policy, () => 1)).toBe(500);
    expect(backoffDelayMs(3, policy, () => 1)).toBe(2000);
    expect(backoffDelayMs(20, policy, () => 1)).toBe(30_000);
    expect(backoffDelayMs(20, policy, () => 0)).toBe(15_000);
  });
});

describe('requested query cost', () => {
  it('charges connections 2 plus first times one node, and mutations a flat 10', () => {
    const query = parseOperation('query Q($n: Int!) { productVariants(first: $n) { nodes { id product { id } } pageInfo { hasNextPage } } }');
    expect(requestedQueryCost(query.document, { n: 100 })).toBe(2 + 100 * 2);
    const mutation = parseOperation('mutation M { inventorySetQuantities(input: {name: "available", reason: "correction", quantities: []}) { userErrors { code } } }');
    expect(requestedQueryCost(mutation.document)).toBe(10);
  });

  it('charges nodes(ids:) per id', () => {
    const query = parseOperation('query Q($ids: [ID!]!) { nodes(ids: $ids) { ... on InventoryItem { id inventoryLevel(locationId: "x") { id } } } }');
    expect(requestedQueryCost(query.document, { ids: ['a', 'b', 'c'] })).toBe(3 * 2);
  });
});
