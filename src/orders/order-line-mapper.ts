import type { ErpConnector } from '../erp/erp-connector.js';
import type { MappingService } from '../inventory/mapping.service.js';
import { IDENTITY_CONVERSION, toErpUnits } from '../inventory/unit-conversion.js';
import type { Logger } from '../logger.js';
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

/**
 * Turns a snapshot's goods lines into ERP lines. A line maps by its variant's SKU mapping (with
 * its unit conversion); a line whose variant has no mapping (deleted, or a duplicate listing
 * never mapped) falls back to its Shopify SKU taken as the ERP SKU, which the ERP then confirms
 * or refuses (`UNKNOWN_SKU`, a clear error on that order only). The location is the order's
 * Shopify location's ERP location when it has one (a POS sale), else the default.
 */
export interface OrderLineMapper {
  mapLines(snapshot: OrderSnapshot): Promise<NewLine[]>;
  /** The ERP location behind a Shopify location (the first, when several feed it), or null. */
  erpLocationFor(shopifyLocationId: string): Promise<string | null>;
}

export function createOrderLineMapper(options: OrderLineMapperOptions): OrderLineMapper {
  const now = options.now ?? Date.now;
  const ttl = options.defaultLocationTtlMs ?? 5 * 60_000;
  let cachedDefault: { value: string | null; at: number } | null = null;

  async function defaultLocation(): Promise<string | null> {
    if (options.defaultLocation) return options.defaultLocation;
    if (cachedDefault && now() - cachedDefault.at < ttl) return cachedDefault.value;
    let value: string | null = null;
    try {
      const [mappings, shopLocations] = await Promise.all([options.mapping.listLocationMappings(), options.shopify.listLocations()]);
      for (const location of shopLocations) {
        if (!location.isActive || !location.fulfillsOnlineOrders) continue;
        const erpLocations = erpLocationsFor(mappings, location.id);
        if (erpLocations.length > 0) {
          value = erpLocations[0]!;
          break;
        }
      }
      if (value === null) value = (await options.erp.listLocations()).find((location) => location.kind === 'warehouse')?.code ?? null;
    } catch (error) {
      // Without a default the lines stay unplaced and the order fails with a clear error; the
      // next order tries again.
      options.log.warn({ err: error }, 'could not work out the default ERP location for online orders');
      return cachedDefault?.value ?? null;
    }
    cachedDefault = { value, at: now() };
    return value;
  }

  return {
    async erpLocationFor(shopifyLocationId) {
      return erpLocationsFor(await options.mapping.listLocationMappings(), shopifyLocationId)[0] ?? null;
    },

    async mapLines(snapshot) {
      const goods = snapshot.lines.filter((line) => !line.giftCard && line.currentQuantity > 0);
      const variantIds = [...new Set(goods.flatMap((line) => (line.variantId ? [line.variantId] : [])))];
      const byVariant = new Map((variantIds.length > 0 ? await options.mapping.findSkuMappingsByVariantIds(variantIds) : []).map((m) => [m.shopifyVariantId, m]));
      const fallbackSkus = [...new Set(goods.filter((line) => !(line.variantId && byVariant.has(line.variantId)) && line.sku).map((line) => line.sku!))];
      const bySku = new Map((fallbackSkus.length > 0 ? await options.mapping.findSkuMappingsBySkus(fallbackSkus) : []).map((m) => [m.erpSku, m]));

      let location: string | null;
      let locationProblem: string | null = null;
      if (snapshot.locationId) {
        const erpLocations = erpLocationsFor(await options.mapping.listLocationMappings(), snapshot.locationId);
        location = erpLocations[0] ?? null;
        if (!location) locationProblem = `Shopify location ${snapshot.locationId} is not mapped to an ERP location (mapLocation)`;
      } else {
        location = await defaultLocation();
        if (!location) locationProblem = 'no ERP location to ship online orders from: map a Shopify location that fulfils online orders';
      }

      return goods.map((line, index) => {
        const base = {
          lineNo: index + 1,
          shopifyLineId: line.lineItemId,
          shopifySku: line.sku,
          shopifyVariantId: line.variantId,
          title: line.title,
          shopifyQuantity: line.currentQuantity,
          unitPrice: line.unitPrice,
        };
        const mapped = (line.variantId ? byVariant.get(line.variantId) : undefined) ?? (line.sku ? bySku.get(line.sku) : undefined);
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
        return {
          ...base,
          erpSku,
          location,
          quantity: toErpUnits(line.currentQuantity, mapped?.conversion ?? IDENTITY_CONVERSION),
          mappingError: locationProblem,
        };
      });
    },
  };
}

function erpLocationsFor(mappings: readonly { erpLocation: string; shopifyLocationId: string }[], shopifyLocationId: string): string[] {
  const wanted = numericShopifyId(shopifyLocationId, 'Location');
  return mappings
    .filter((mapping) => numericShopifyId(mapping.shopifyLocationId, 'Location') === wanted)
    .map((mapping) => mapping.erpLocation)
    .sort();
}
