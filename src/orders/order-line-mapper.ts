import type { ErpConnector } from '../erp/erp-connector.js';
import type { SkuMapping } from '../inventory/inventory.models.js';
import type { MappingService } from '../inventory/mapping.service.js';
import { IDENTITY_CONVERSION, toErpUnits } from '../inventory/unit-conversion.js';
import type { Logger } from '../logger.js';
import { AppError } from '../shared/errors.js';
import type { ShopifyClient } from '../shopify/shopify-client.js';
import { numericShopifyId, type OrderSnapshot } from './order.models.js';
import type { NewLine } from './order.repository.js';

/**
 * What the order pipeline asks of the inventory domain's mapping: which ERP SKU (and unit
 * conversion) feeds a Shopify variant, and which ERP locations stand behind a Shopify location.
 */
export type OrderMappingLookup = Pick<MappingService, 'findSkuMappingsByVariantIds' | 'findSkuMappingsBySkus' | 'listLocationMappings'>;

export interface OrderLineMapperOptions {
  readonly mapping: OrderMappingLookup;
  readonly erp: ErpConnector;
  readonly shopify: ShopifyClient;
  readonly log: Logger;
  /**
   * ERP location that online orders ship from. Absent: the ERP location mapped to the first
   * active Shopify location that fulfils online orders, else the ERP's first warehouse.
   */
  readonly defaultLocation?: string;
  readonly now?: () => number;
  /** How long the derived default location is trusted before it is worked out again. */
  readonly defaultLocationTtlMs?: number;
}

/** Everything mapping needs, read ahead for a batch of snapshots (so the mapping itself is synchronous). */
export interface PreparedMapping {
  readonly byVariant: ReadonlyMap<string, SkuMapping>;
  readonly bySku: ReadonlyMap<string, SkuMapping>;
  readonly locations: ReadonlyArray<{ readonly erpLocation: string; readonly shopifyLocationId: string }>;
  readonly defaultLocation: string | null;
}

/**
 * Turns a snapshot's goods lines into ERP lines. A line maps by its variant's SKU mapping (with
 * its unit conversion); a line whose variant has no mapping (deleted, or a duplicate listing
 * never mapped) falls back to its Shopify SKU taken as the ERP SKU, which the ERP then confirms
 * or refuses (`UNKNOWN_SKU`, a clear error on that order only). The location is the order's
 * Shopify location's ERP location when it has one (a POS sale), else the default.
 *
 * `prepare` does every lookup (a few batched reads for any number of orders) and throws
 * `ORDER_MAPPING_UNAVAILABLE` when it cannot read them: a reason to try again, not to fail the
 * order. `linesFor` then maps without I/O, so the inbox can map inside its transaction.
 */
export interface OrderLineMapper {
  prepare(snapshots: readonly OrderSnapshot[]): Promise<PreparedMapping>;
  linesFor(prepared: PreparedMapping, snapshot: OrderSnapshot): NewLine[];
  mapLines(snapshot: OrderSnapshot): Promise<NewLine[]>;
  /** The ERP location behind a Shopify location (the first, when several feed it), or null. */
  erpLocationFor(shopifyLocationId: string): Promise<string | null>;
}

function goodsOf(snapshot: OrderSnapshot) {
  return snapshot.lines.filter((line) => !line.giftCard && line.currentQuantity > 0);
}

export function createOrderLineMapper(options: OrderLineMapperOptions): OrderLineMapper {
  const now = options.now ?? Date.now;
  const ttl = options.defaultLocationTtlMs ?? 5 * 60_000;
  let cachedDefault: { value: string | null; at: number } | null = null;

  async function defaultLocation(mappings: PreparedMapping['locations']): Promise<string | null> {
    if (options.defaultLocation) return options.defaultLocation;
    if (cachedDefault && now() - cachedDefault.at < ttl) return cachedDefault.value;
    let value: string | null = null;
    try {
      for (const location of await options.shopify.listLocations()) {
        if (!location.isActive || !location.fulfillsOnlineOrders) continue;
        const erpLocations = erpLocationsFor(mappings, location.id);
        if (erpLocations.length > 0) {
          value = erpLocations[0]!;
          break;
        }
      }
      if (value === null) value = (await options.erp.listLocations()).find((location) => location.kind === 'warehouse')?.code ?? null;
    } catch (error) {
      if (cachedDefault) return cachedDefault.value;
      throw new AppError('ORDER_MAPPING_UNAVAILABLE', `could not work out the ERP location online orders ship from: ${(error as Error).message}`, {}, { cause: error });
    }
    cachedDefault = { value, at: now() };
    return value;
  }

  const mapper: OrderLineMapper = {
    async prepare(snapshots) {
      try {
        const goods = snapshots.flatMap(goodsOf);
        const variantIds = [...new Set(goods.flatMap((line) => (line.variantId ? [line.variantId] : [])))];
        const [variantMappings, locations] = await Promise.all([
          variantIds.length > 0 ? options.mapping.findSkuMappingsByVariantIds(variantIds) : Promise.resolve([]),
          options.mapping.listLocationMappings(),
        ]);
        const byVariant = new Map(variantMappings.map((mapping) => [mapping.shopifyVariantId, mapping]));
        const fallbackSkus = [...new Set(goods.filter((line) => !(line.variantId && byVariant.has(line.variantId)) && line.sku).map((line) => line.sku!))];
        const bySku = new Map((fallbackSkus.length > 0 ? await options.mapping.findSkuMappingsBySkus(fallbackSkus) : []).map((mapping) => [mapping.erpSku, mapping]));
        const needsDefault = snapshots.some((snapshot) => snapshot.locationId === null);
        return { byVariant, bySku, locations, defaultLocation: needsDefault ? await defaultLocation(locations) : null };
      } catch (error) {
        if (error instanceof AppError && error.code === 'ORDER_MAPPING_UNAVAILABLE') throw error;
        throw new AppError('ORDER_MAPPING_UNAVAILABLE', `could not read the SKU and location mapping: ${(error as Error).message}`, {}, { cause: error });
      }
    },

    linesFor(prepared, snapshot) {
      let location: string | null;
      let locationProblem: string | null = null;
      if (snapshot.locationId) {
        location = erpLocationsFor(prepared.locations, snapshot.locationId)[0] ?? null;
        if (!location) locationProblem = `Shopify location ${snapshot.locationId} is not mapped to an ERP location (mapLocation)`;
      } else {
        location = prepared.defaultLocation;
        if (!location) locationProblem = 'no ERP location to ship online orders from: map a Shopify location that fulfils online orders';
      }
      return goodsOf(snapshot).map((line, index) => {
        const base = {
          lineNo: index + 1,
          shopifyLineId: line.lineItemId,
          shopifySku: line.sku,
          shopifyVariantId: line.variantId,
          title: line.title,
          shopifyQuantity: line.currentQuantity,
          unitPrice: line.unitPrice,
        };
        const mapped = (line.variantId ? prepared.byVariant.get(line.variantId) : undefined) ?? (line.sku ? prepared.bySku.get(line.sku) : undefined);
        const erpSku = mapped?.erpSku ?? line.sku;
        if (!erpSku) {
          return {
            ...base,
            erpSku: null,
            location,
            quantity: null,
            mappingError: `line "${line.title}" has no SKU and its variant ${line.variantId ?? '(none)'} is not mapped to an ERP SKU (mapSku)`,
          };
        }
        return { ...base, erpSku, location, quantity: toErpUnits(line.currentQuantity, mapped?.conversion ?? IDENTITY_CONVERSION), mappingError: locationProblem };
      });
    },

    async mapLines(snapshot) {
      return mapper.linesFor(await mapper.prepare([snapshot]), snapshot);
    },

    async erpLocationFor(shopifyLocationId) {
      return erpLocationsFor(await options.mapping.listLocationMappings(), shopifyLocationId)[0] ?? null;
    },
  };
  return mapper;
}

function erpLocationsFor(mappings: PreparedMapping['locations'], shopifyLocationId: string): string[] {
  const wanted = numericShopifyId(shopifyLocationId, 'Location');
  return mappings
    .filter((mapping) => numericShopifyId(mapping.shopifyLocationId, 'Location') === wanted)
    .map((mapping) => mapping.erpLocation)
    .sort();
}
