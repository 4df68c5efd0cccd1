import { describe, expect, it } from 'vitest';
import { idOfType, inventoryLevelGid, looseId, numericShopifyId, parseGid, shopifyGid, toShopifyGid, withoutGidPrefix } from '../../src/shopify/gid.js';

describe('Shopify gids, made and read in one place', () => {
  it('a gid made from a type and a number reads back as that type and number', () => {
    const made = shopifyGid('ProductVariant', 42);
    expect(made).toBe('gid://shopify/ProductVariant/42');
    expect(parseGid(made)).toMatchObject({ type: 'ProductVariant', id: 42 });
    expect(idOfType(made, 'ProductVariant')).toBe(42);
    expect(idOfType(made, 'Location')).toBeNull();
  });

  it('an inventory level carries its item as a query parameter', () => {
    const level = inventoryLevelGid(7, 99);
    expect(level).toBe('gid://shopify/InventoryLevel/7?inventory_item_id=99');
    expect(parseGid(level)?.params.get('inventory_item_id')).toBe('99');
  });

  it('what operators paste (a bare number or a gid) becomes a gid; anything else is left as typed', () => {
    expect(toShopifyGid('Location', ' 12 ')).toBe('gid://shopify/Location/12');
    expect(toShopifyGid('Location', 'gid://shopify/Location/12')).toBe('gid://shopify/Location/12');
    expect(toShopifyGid('Location', 'warehouse')).toBe('warehouse');
    expect(looseId('12', 'Location')).toBe(12);
    expect(looseId('gid://shopify/Location/12', 'Location')).toBe(12);
    expect(looseId('gid://shopify/Order/12', 'Location')).toBeNull();
  });

  it('the numeric id of an order is read from its gid or as a bare number, never from another type', () => {
    expect(numericShopifyId('gid://shopify/Order/820982911946154508', 'Order')).toBe('820982911946154508');
    expect(numericShopifyId('123', 'Order')).toBe('123');
    expect(numericShopifyId('gid://shopify/LineItem/5?x=1', 'LineItem')).toBe('5');
    expect(numericShopifyId('gid://shopify/Refund/5', 'Order')).toBeNull();
    expect(numericShopifyId('#1001', 'Order')).toBeNull();
  });

  it('ids longer than a safe integer are kept as strings by the gateway and refused by the numeric readers', () => {
    const long = 'gid://shopify/Order/99999999999999999999';
    expect(numericShopifyId(long, 'Order')).toBe('99999999999999999999');
    expect(parseGid(long)).toBeNull();
  });

  it('a level key drops only the prefix of the expected type', () => {
    expect(withoutGidPrefix('gid://shopify/InventoryItem/12', 'InventoryItem')).toBe('12');
    expect(withoutGidPrefix('gid://shopify/Location/3', 'InventoryItem')).toBe('gid://shopify/Location/3');
  });
});
