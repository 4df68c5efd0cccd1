import { parse, validate, type DocumentNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadShopifyAdminSchema } from '../../scripts/shopify-admin-schema.mjs';
import { requestedQueryCost as simulatorCost } from '../../src/simulators/shopify/query-cost.js';
import * as bulk from '../../src/shopify/operations/bulk.operations.js';
import * as inventory from '../../src/shopify/operations/inventory.operations.js';
import * as locations from '../../src/shopify/operations/locations.operations.js';
import * as orders from '../../src/shopify/operations/orders.operations.js';
import * as variants from '../../src/shopify/operations/variants.operations.js';
import * as webhooks from '../../src/shopify/operations/webhooks.operations.js';
import { requestedQueryCost } from '../../src/shopify/query-cost.js';

const documents: Record<string, string> = { ...bulk, ...inventory, ...locations, ...orders, ...variants, ...webhooks };
const schema = loadShopifyAdminSchema();

/** Variables shaped like the client's largest real calls. */
const sampleVariables: Record<string, Record<string, unknown>> = {
  ListLocations: { first: 100 },
  ListVariants: { first: 250, query: 'sku:A OR sku:B' },
  GetVariantMetafields: { ids: Array.from({ length: 40 }, (_, i) => `gid://shopify/ProductVariant/${i}`), first: 20 },
  SetMetafields: { metafields: [] },
  CreateMetafieldDefinition: { definition: { namespace: 'stockbridge', key: 'lots', type: 'json', name: 'Lots', ownerType: 'PRODUCTVARIANT' } },
  GetInventoryLevelsAtLocation: { ids: Array.from({ length: 250 }, (_, i) => `gid://shopify/InventoryItem/${i}`), locationId: 'gid://shopify/Location/1' },
  ListInventoryLevelsAtLocation: { locationId: 'gid://shopify/Location/1', first: 250 },
  SetInventoryQuantities: { input: {}, idempotencyKey: 'k' },
  AdjustInventoryQuantities: { input: {}, idempotencyKey: 'k' },
  ListOrders: { first: 15, query: "updated_at:>='2026-01-01T00:00:00Z'", lineItemsFirst: 30 },
  FindOrder: { id: 'gid://shopify/Order/1', lineItemsFirst: 100 },
  OrderLineItems: { id: 'gid://shopify/Order/1', first: 250 },
  OrderDetailLineItems: { id: 'gid://shopify/Order/1', first: 240 },
  ListWebhookSubscriptions: { first: 100 },
  CreateWebhookSubscription: { topic: 'ORDERS_CREATE', subscription: {} },
  RunBulkQuery: { query: '{ }' },
  BulkOperationStatus: { id: 'gid://shopify/BulkOperation/1' },
};
/** Run by Shopify's bulk engine (connections take no page size), never sent as a query: no cost. */
const bulkQueries = new Set(['BulkInventoryLevels', 'BulkVariants']);

function operationName(document: DocumentNode): string {
  const operation = document.definitions.find((definition) => definition.kind === 'OperationDefinition');
  return operation && 'name' in operation && operation.name ? operation.name.value : '';
}

describe('Shopify operation documents', () => {
  it('include every operation the client sends', () => {
    expect(Object.keys(documents).length).toBeGreaterThanOrEqual(12);
  });

  for (const [exportName, source] of Object.entries(documents)) {
    describe(exportName, () => {
      const document = parse(source);

      it('is valid against the Admin API 2026-10 schema', () => {
        expect(validate(schema, document).map((error) => error.message)).toEqual([]);
      });

      it('uses no deprecated field', () => {
        // Deprecated fields disappear in a later version; the client should not depend on them.
        const deprecated: string[] = [];
        const typeInfoValidate = validate(schema, document, [
          (context) => ({
            Field(node) {
              const field = context.getFieldDef();
              if (field?.deprecationReason) deprecated.push(node.name.value);
            },
          }),
        ]);
        expect(typeInfoValidate).toEqual([]);
        expect(deprecated).toEqual([]);
      });

      it.skipIf(bulkQueries.has(operationName(document)))('is estimated at the cost Shopify rules give, under the single-query limit', () => {
        const name = operationName(document);
        const variables = sampleVariables[name];
        expect(variables, `sample variables for ${name}`).toBeDefined();
        const operation = document.definitions.find((definition) => definition.kind === 'OperationDefinition');
        if (!operation || operation.kind !== 'OperationDefinition') throw new Error('no operation');
        const fragments = new Map(
          document.definitions.flatMap((definition) => (definition.kind === 'FragmentDefinition' ? [[definition.name.value, definition] as const] : [])),
        );
        const schemaAware = simulatorCost({ schema, operation, fragments, variables: variables ?? {} });
        expect(requestedQueryCost(document, variables)).toBe(schemaAware);
        expect(schemaAware).toBeLessThanOrEqual(1000);
      });
    });
  }
});
