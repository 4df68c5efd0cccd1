import type { ErpConnector } from '../erp/erp-connector.js';
import { IDENTITY_CONVERSION, toErpUnits, type SkuMapping, type MappingService } from '../inventory/inventory.port.js';
import type { Logger } from '../logger.js';
import { AppError } from '../shared/errors.js';
import type { ShopifyClient } from '../shopify/shopify-client.js';
import { numericShopifyId } from '../shopify/gid.js';
import type { OrderSnapshot } from './order.models.js';
import type { NewLine } from './order.repository.js';

/**
 * What the order pipeline asks of the inventory domain's mapping: which ERP SKU (and unit
 * conversion) feeds a Shopify variant, and which ERP locations stand behind a Shopify location.
 */
export type OrderMappingLookup = Pick<MappingService, 'findSkuMappingsByVariantIds' | 'listLocationMappings'>;

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
  /** Every variant whose mapping was read (mapped or not): a variant outside it was not looked at. */
  readonly readVariants: ReadonlySet<string>;
  /** Whether the default location was worked out (only when a prepared snapshot needed it). */
  readonly defaultRead: boolean;
  readonly locations: ReadonlyArray<{ readonly erpLocation: string; readonly shopifyLocationId: string }>;
  readonly defaultLocation: string | null;
}

/**
 * Turns a snapshot's goods lines into ERP lines. A line maps by its variant's SKU mapping (with
 * its unit conversion), and only so: a line whose variant has no mapping (never mapped, deleted,
 * a custom item) stays unmapped with a `mappingError` saying what to map. The order then waits
 * for the mapping (the pipeline alerts and maps it again when asked); the Shopify SKU is never
 * taken for an ERP SKU (spellings differ: `ord-nut-00001` in the shop is `ORD-NUT-00001` in the
 * ERP). The location is the order's Shopify location's ERP location when it has one (a POS
 * sale), else the default.
 *
 * `prepare` does every lookup (a few batched reads for any number of orders) and throws
 * `ORDER_MAPPING_UNAVAILABLE` when it cannot read them: a reason to try again, not to fail the
 * order. `linesFor` then maps without I/O, so the inbox can map inside its transaction (it claims
 * only the deliveries it prepared). Mapping a snapshot that was not prepared gives the same
 * answer as any unread mapping: unmapped lines that the pipeline maps again before it sends,
 * never a guess. How deliveries were batched never changes what reaches the ERP.
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
        const needsDefault = snapshots.some((snapshot) => snapshot.locationId === null);
        return {
          byVariant,
          readVariants: new Set(variantIds),
          defaultRead: needsDefault,
          locations,
          defaultLocation: needsDefault ? await defaultLocation(locations) : null,
        };
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
      } else if (!prepared.defaultRead) {
        location = null;
        locationProblem = 'the ship-from location was not worked out with this batch; it is mapped again before the order is sent';
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
        const mapped = line.variantId ? prepared.byVariant.get(line.variantId) : undefined;
        if (!mapped) {
          let why: string;
          if (!line.variantId) why = `line "${line.title}" (Shopify SKU ${line.sku ?? 'none'}) has no variant to map: map its SKU (mapSku)`;
          else if (!prepared.readVariants.has(line.variantId)) why = `the mapping of variant ${line.variantId} was not read with this batch; it is mapped again before the order is sent`;
          else why = `variant ${line.variantId} (Shopify SKU ${line.sku ?? 'none'}, line "${line.title}") is not mapped to an ERP SKU: map it (mapSku)`;
          return { ...base, erpSku: null, location, quantity: null, mappingError: why };
        }
        return { ...base, erpSku: mapped.erpSku, location, quantity: toErpUnits(line.currentQuantity, mapped.conversion ?? IDENTITY_CONVERSION), mappingError: locationProblem };
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
