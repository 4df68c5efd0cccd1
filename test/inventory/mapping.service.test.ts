import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtpService, type AtpService } from '../../src/inventory/atp.service.js';
import { createMappingService, type MappingService } from '../../src/inventory/mapping.service.js';
import { groupPushTargets, shopifyQuantityFor } from '../../src/inventory/push-targets.js';
import { DEFAULT_NORMALIZATION_RULES } from '../../src/inventory/sku-normalization.js';
import { toErpUnits, toShopifyUnits } from '../../src/inventory/unit-conversion.js';
import { AdminApiShopifyClient } from '../../src/shopify/admin-api-shopify-client.js';
import { startShopifySimulator, type ShopifySimulator } from '../../src/simulators/shopify/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';
import { countingPushSignal, createTestErp } from './support.js';

let database: TestDatabase;
let simulator: ShopifySimulator;
let shopify: AdminApiShopifyClient;
let mapping: MappingService;
let atp: AtpService;
const { erp, connector } = createTestErp();
const signal = countingPushSignal();
const log = createMemoryLogger().log;

beforeAll(async () => {
  erp.addWarehouse({ code: 'GLA', name: 'Glasgow depot' });
  for (const sku of ['BRACKET-V2-BLU', 'HINGE-BUTT-75', 'DUP-1', 'NUT-A', 'NUT_A', 'ERP-ONLY', 'WRAP', 'CASE-12', 'UNITS-IN-CASES']) {
    erp.addProduct({ sku, name: sku });
    erp.seedStock({ sku, location: 'LDS', quantity: 50 });
  }
  erp.addProduct({ sku: 'SERVICE-FITTING', name: 'Fitting service', stockTracked: false });
  [database, simulator] = await Promise.all([
    createTestDatabase(),
    startShopifySimulator({
      logger: log,
      catalogue: {
        locations: [
          { key: 'LEEDS', name: 'Leeds Plant' },
          { key: 'BHM', name: 'Birmingham distribution centre' },
          { key: 'POPUP', name: 'Pop-up store' },
          { key: 'OLD', name: 'Closed shop', isActive: false },
        ],
        products: [
          { title: 'Bracket', variants: [{ sku: 'bracket-v2-blue' }] },
          { title: 'Hinge', variants: [{ sku: 'HINGE-BUTT-75' }] },
          { title: 'Dup', variants: [{ sku: 'DUP-1' }, { sku: 'DUP-1', title: 'Duplicate listing' }] },
          { title: 'Nut', variants: [{ sku: 'nut-a' }] },
          { title: 'Shop only', variants: [{ sku: 'SHOP-ONLY' }] },
          { title: 'Wrap', variants: [{ sku: 'WRAP', tracked: false }] },
          { title: 'Units', variants: [{ sku: 'CASE-12-SINGLE' }] },
          { title: 'Cases', variants: [{ sku: 'UNITS-BOX-OF-6' }] },
        ],
      },
    }),
  ]);
  shopify = new AdminApiShopifyClient({ shopDomain: simulator.shopDomain, accessToken: simulator.accessToken, adminUrl: simulator.adminUrl, logger: log, metrics: new Registry() });
  const common = { db: database.db, shop: simulator.shopDomain, erp: connector, log, now: () => new Date(), pushSignal: signal };
  mapping = createMappingService({ ...common, shopify });
  atp = createAtpService(common);
  await mapping.refreshErpCatalogue();
  await mapping.setNormalizationRules({ ...DEFAULT_NORMALIZATION_RULES, abbreviations: { BLU: 'blue' } });
  await mapping.refreshShopifyCatalogue();
  await mapping.autoMapLocations();
  await atp.refreshPositions('all');
}, 60_000);

afterAll(async () => {
  await shopify?.close();
  await simulator?.close();
  await database?.close();
});

async function variantIdOf(sku: string): Promise<string> {
  return (await shopify.findVariantsBySkus([sku])).map((v) => v.variantId).sort()[0]!;
}

async function shopifyLocationId(name: string): Promise<string> {
  return (await shopify.listLocations({ includeInactive: true })).find((l) => l.name === name)!.id;
}

describe('SKU mapping', () => {
  it('maps by the normalization rules: identical SKUs, and spellings the rules make equal', async () => {
    const report = await mapping.getMappingReport();
    const mapped = Object.fromEntries(report.mapped.map((m) => [m.erpSku, [m.shopifySku, m.source]]));
    expect(mapped).toMatchObject({ 'BRACKET-V2-BLU': ['bracket-v2-blue', 'RULE'], 'HINGE-BUTT-75': ['HINGE-BUTT-75', 'RULE'], WRAP: ['WRAP', 'RULE'] });
  });

  it('lists ambiguous matches (duplicate Shopify SKUs, ERP SKUs that normalize alike) and maps none of them', async () => {
    const report = await mapping.getMappingReport();
    expect(report.ambiguous.map((a) => [a.erpSku, a.reason, a.candidates.length])).toEqual([
      ['DUP-1', 'SEVERAL_SHOPIFY_VARIANTS', 2],
      ['NUT-A', 'SEVERAL_ERP_SKUS', 1],
      ['NUT_A', 'SEVERAL_ERP_SKUS', 1],
    ]);
    expect(report.mapped.map((m) => m.erpSku)).not.toEqual(expect.arrayContaining(['DUP-1']));
  });

  it('lists ERP SKUs without a variant and Shopify SKUs without a product, but not services', async () => {
    const report = await mapping.getMappingReport();
    expect(report.unmappedErpSkus).toEqual(['CASE-12', 'ERP-ONLY', 'UNITS-IN-CASES']);
    expect(report.unmappedShopifyVariants.map((v) => v.sku)).toEqual(['CASE-12-SINGLE', 'SHOP-ONLY', 'UNITS-BOX-OF-6']);
    expect(report.counts).toEqual({ mapped: 3, unmappedErpSkus: 3, unmappedShopifySkus: 3, ambiguous: 3 });
  });

  it('never makes an ambiguous, unmapped or untracked SKU a push target', async () => {
    const targets = await mapping.getPushTargets(['DUP-1', 'NUT-A', 'NUT_A', 'ERP-ONLY', 'WRAP', 'BRACKET-V2-BLU']);
    expect([...new Set(targets.map((t) => t.sku))]).toEqual(['BRACKET-V2-BLU']);
  });

  it('maps by hand with a variant id, which wins over the rules and resolves an ambiguity', async () => {
    const variantId = await variantIdOf('DUP-1');
    const wakes = signal.wakes();
    const mapped = await mapping.mapSku({ erpSku: 'DUP-1', shopifyVariantId: variantId.replace(/.*\//, '') });
    expect(mapped).toMatchObject({ erpSku: 'DUP-1', source: 'MANUAL', shopifyVariantId: variantId, conversion: { erpUnits: 1, shopifyUnits: 1 }, tracked: true });
    expect(signal.wakes()).toBeGreaterThan(wakes);
    const report = await mapping.getMappingReport();
    expect(report.ambiguous.map((a) => a.erpSku)).toEqual(['NUT-A', 'NUT_A']);
    // The other listing of DUP-1 is now simply a Shopify variant nothing feeds.
    expect(report.unmappedShopifyVariants.map((v) => v.sku)).toContain('DUP-1');
    expect((await mapping.getPushTargets(['DUP-1'])).map((t) => t.variantId)).toEqual([variantId, variantId]);
    // It survives a catalogue refresh.
    await mapping.refreshShopifyCatalogue();
    expect((await mapping.findSkuMappingsBySkus(['DUP-1']))[0]).toMatchObject({ source: 'MANUAL', shopifyVariantId: variantId });
  });

  it('refuses a Shopify SKU that names several variants, and a variant another SKU holds by hand', async () => {
    await expect(mapping.mapSku({ erpSku: 'ERP-ONLY', shopifySku: 'DUP-1' })).rejects.toMatchObject({ code: 'SHOPIFY_SKU_AMBIGUOUS' });
    await expect(mapping.mapSku({ erpSku: 'ERP-ONLY', shopifyVariantId: await variantIdOf('DUP-1') })).rejects.toMatchObject({
      code: 'SHOPIFY_VARIANT_ALREADY_MAPPED',
      details: { erpSku: 'DUP-1' },
    });
    await expect(mapping.mapSku({ erpSku: 'NO-SUCH-SKU', shopifySku: 'SHOP-ONLY' })).rejects.toMatchObject({ code: 'UNKNOWN_SKU' });
    await expect(mapping.mapSku({ erpSku: 'ERP-ONLY', shopifySku: 'NOT-IN-SHOP' })).rejects.toMatchObject({ code: 'SHOPIFY_VARIANT_NOT_FOUND' });
  });

  it('takes a variant a rule gave another SKU, which then falls back to unmapped', async () => {
    await mapping.mapSku({ erpSku: 'ERP-ONLY', shopifySku: 'hinge-butt-75' });
    const [erpOnly, hinge] = [...(await mapping.findSkuMappingsBySkus(['ERP-ONLY', 'HINGE-BUTT-75']))];
    expect(erpOnly).toMatchObject({ erpSku: 'ERP-ONLY', shopifySku: 'HINGE-BUTT-75', source: 'MANUAL' });
    expect(hinge).toBeUndefined();
    expect((await mapping.getMappingReport()).unmappedErpSkus).toContain('HINGE-BUTT-75');
    await mapping.unmapSku('ERP-ONLY');
    expect((await mapping.findSkuMappingsBySkus(['HINGE-BUTT-75']))[0]).toMatchObject({ source: 'RULE' });
  });

  it('re-runs matching when the operator changes the rules', async () => {
    const summary = await mapping.setNormalizationRules({ ...DEFAULT_NORMALIZATION_RULES, abbreviations: {} });
    expect(summary.mapped).toBe(3); // BRACKET-V2-BLU no longer finds bracket-v2-blue
    expect((await mapping.findSkuMappingsBySkus(['BRACKET-V2-BLU'])).length).toBe(0);
    const back = await mapping.setNormalizationRules({ ...DEFAULT_NORMALIZATION_RULES, abbreviations: { BLU: 'blue' } });
    expect(back.newlyMapped).toEqual(['BRACKET-V2-BLU']);
  });
});

describe('unit conversion', () => {
  it('converts every quantity that crosses, rounding down towards Shopify', () => {
    const casesOf12 = { erpUnits: 1, shopifyUnits: 12 };
    const boxesOf6 = { erpUnits: 6, shopifyUnits: 1 };
    expect(toShopifyUnits(3, casesOf12)).toBe(36);
    expect(toShopifyUnits(17, boxesOf6)).toBe(2);
    expect(toShopifyUnits(-4, boxesOf6)).toBe(0);
    expect(toErpUnits(2, boxesOf6)).toBe(12);
    expect(toErpUnits(6, casesOf12)).toBe(0.5);
  });

  it('is stored with a manual mapping and travels with every push target', async () => {
    await mapping.mapSku({ erpSku: 'CASE-12', shopifySku: 'CASE-12-SINGLE', conversion: { erpUnits: 1, shopifyUnits: 12 } });
    await mapping.mapSku({ erpSku: 'UNITS-IN-CASES', shopifySku: 'UNITS-BOX-OF-6', conversion: { erpUnits: 6, shopifyUnits: 1 } });
    const groups = groupPushTargets(await mapping.getPushTargets(['CASE-12', 'UNITS-IN-CASES']));
    const leeds = (sku: string) => groups.find((g) => g.sku === sku && g.erpLocations.includes('LDS'))!;
    // 50 on hand at LDS: 600 single units; 8 boxes of 6 (48 units, 2 left over are not promised).
    expect(shopifyQuantityFor(leeds('CASE-12'), new Map([['LDS', 50]]))).toBe(600);
    expect(shopifyQuantityFor(leeds('UNITS-IN-CASES'), new Map([['LDS', 50]]))).toBe(8);
    await expect(mapping.mapSku({ erpSku: 'CASE-12', shopifySku: 'CASE-12-SINGLE', conversion: { erpUnits: 0, shopifyUnits: 12 } })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
  });
});

describe('location mapping', () => {
  it('maps ERP warehouses to the Shopify locations of the same name at first start', async () => {
    const locations = await mapping.listLocations();
    const byCode = Object.fromEntries(locations.map((l) => [l.code, [l.shopifyLocationName, l.mappingSource]]));
    expect(byCode).toMatchObject({ LDS: ['Leeds Plant', 'AUTO'], BHM: ['Birmingham distribution centre', 'AUTO'], GLA: [null, null] });
    // Nothing more once something is mapped.
    expect(await mapping.autoMapLocations()).toEqual([]);
  });

  it('never makes an unmapped location a push target, and reports it', async () => {
    const targets = await mapping.getPushTargets(['BRACKET-V2-BLU']);
    expect(targets.map((t) => t.location).sort()).toEqual(['BHM', 'LDS']);
    expect((await mapping.getMappingReport()).unmappedLocations).toEqual(['GLA']);
  });

  it('lets several ERP locations feed one Shopify location, summed into one Shopify level', async () => {
    const leeds = (await mapping.listLocations()).find((l) => l.code === 'LDS')!.shopifyLocationId!;
    const view = await mapping.mapLocation({ erpLocation: 'GLA', shopifyLocationId: leeds });
    expect(view).toMatchObject({ code: 'GLA', shopifyLocationId: leeds, mappingSource: 'MANUAL' });
    const groups = groupPushTargets(await mapping.getPushTargets(['BRACKET-V2-BLU']));
    expect(groups.map((g) => g.erpLocations)).toEqual(expect.arrayContaining([['GLA', 'LDS'], ['BHM']]));
    const [itemId] = new Set(groups.map((g) => g.inventoryItemId));
    const sources = await mapping.getErpSources([{ inventoryItemId: itemId!, locationId: leeds }]);
    expect(sources).toEqual([expect.objectContaining({ sku: 'BRACKET-V2-BLU', erpLocations: ['GLA', 'LDS'], shopifyLocationId: leeds })]);
    expect(shopifyQuantityFor(groups.find((g) => g.shopifyLocationId === leeds)!, new Map([['LDS', 50], ['GLA', 7]]))).toBe(57);
  });

  it('refuses overlapping, unknown and inactive locations', async () => {
    const popup = await shopifyLocationId('Pop-up store');
    await expect(mapping.mapLocation({ erpLocation: 'LDS-STO', shopifyLocationId: popup })).rejects.toMatchObject({ code: 'LOCATION_OVERLAP' });
    await expect(mapping.mapLocation({ erpLocation: 'NOWHERE', shopifyLocationId: popup })).rejects.toMatchObject({ code: 'UNKNOWN_LOCATION' });
    await expect(mapping.mapLocation({ erpLocation: 'GLA', shopifyLocationId: 'gid://shopify/Location/999999' })).rejects.toMatchObject({
      code: 'SHOPIFY_LOCATION_NOT_FOUND',
    });
    const closed = await shopifyLocationId('Closed shop');
    await expect(mapping.mapLocation({ erpLocation: 'GLA', shopifyLocationId: closed })).rejects.toMatchObject({ code: 'SHOPIFY_LOCATION_INACTIVE' });
  });

  it('unmaps a location, which is then never pushed', async () => {
    await mapping.mapLocation({ erpLocation: 'GLA', shopifyLocationId: null });
    expect((await mapping.getPushTargets(['BRACKET-V2-BLU'])).map((t) => t.location).sort()).toEqual(['BHM', 'LDS']);
  });

  it('lists every push target page by page', async () => {
    const all = await mapping.getPushTargets((await mapping.getMappingReport()).mapped.map((m) => m.erpSku));
    const paged = [];
    let after: string | null = null;
    do {
      const page: Awaited<ReturnType<MappingService['listPushTargets']>> = await mapping.listPushTargets({ after, first: 2 });
      paged.push(...page.items);
      after = page.nextCursor;
    } while (after);
    expect(paged).toEqual(all);
  });
});
