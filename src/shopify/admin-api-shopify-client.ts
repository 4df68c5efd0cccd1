// One unit though long: the ShopifyClient port on the Admin API, one short method per port
// operation over one transport and one cost bucket. Operations with logic of their own live
// beside it (set-available-quantities.ts, fulfilment-orders.ts, admin-api-transport.ts).
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { chunk } from '../shared/collections.js';
import { NotFoundError } from '../shared/errors.js';
import type {
  CreateMetafieldDefinitionMutation,
  CreateWebhookSubscriptionMutation,
  FindOrderQuery,
  GetInventoryLevelsAtLocationQuery,
  GetVariantMetafieldsQuery,
  ListInventoryLevelsAtLocationQuery,
  ListLocationsQuery,
  ListOrdersQuery,
  ListVariantsQuery,
  ListWebhookSubscriptionsQuery,
  LiveNodesQuery,
  OrderFieldsFragment,
  OrderLineFieldsFragment,
  OrderDetailFieldsFragment,
  OrderDetailLineFieldsFragment,
  OrderDetailLineItemsQuery,
  SetMetafieldsMutation,
  WebhookSubscriptionTopic,
} from './__generated__/admin.types.js';
import { z } from 'zod';
import { AdminApiTransport, prepareOperation, type PreparedOperation, type RetryPolicy } from './admin-api-transport.js';
import { runBulkExport, type BulkExportRun } from './bulk-export.js';
import { createFulfillment, getOrderFulfilments } from './fulfilment-orders.js';
import { systemClock, type Clock } from './cost-bucket.js';
import { bulkInventoryLevelsQuery, bulkVariantsQuery } from './operations/bulk.operations.js';
import { getInventoryLevelsAtLocationDocument, listInventoryLevelsAtLocationDocument } from './operations/inventory.operations.js';
import { liveNodesDocument } from './operations/live-nodes.operations.js';
import { listLocationsDocument } from './operations/locations.operations.js';
import { findOrderDocument, listOrdersDocument, orderDetailLineItemsDocument } from './operations/orders.operations.js';
import { createMetafieldDefinitionDocument, getVariantMetafieldsDocument, listVariantsDocument, setMetafieldsDocument } from './operations/variants.operations.js';
import { createWebhookSubscriptionDocument, listWebhookSubscriptionsDocument } from './operations/webhooks.operations.js';
import { SINGLE_QUERY_MAX_COST } from './query-cost.js';
import { setAvailableQuantities } from './set-available-quantities.js';
import { adjustAvailableQuantities } from './adjust-available-quantities.js';
import type { ShopifyTokenProvider } from './credentials/token-provider.js';
import { ShopifyError } from './shopify.errors.js';
import type {
  AdjustAvailableOptions,
  AdjustAvailableQuantity,
  AdjustedAvailable,
  CreateFulfillmentInput,
  CreateWebhookSubscription,
  ExportInventoryLevelsOptions,
  GuardedVariantMetafield,
  InventoryItemLocation,
  MetafieldWriteOutcome,
  InventoryLevelQuantities,
  LocationId,
  OrderId,
  Page,
  PageRequest,
  SetAvailableQuantitiesOptions,
  SetAvailableQuantity,
  SetQuantityOutcome,
  ShopifyClient,
  ShopifyLiveNodes,
  ShopifyLocation,
  ShopifyOrderSummary,
  ShopifyOrderDetailLine,
  ShopifyOrderDetails,
  ShopifyOrderFulfilments,
  ShopifyOrderLine,
  ShopifyRateLimit,
  ShopifyVariant,
  VariantId,
  VariantMetafield,
  VariantMetafieldDefinition,
  WebhookSubscription,
} from './shopify-client.js';

export interface AdminApiShopifyClientOptions {
  /** `acme.myshopify.com` (the simulator reports its own). */
  shopDomain: string;
  /** A fixed token (`SHOPIFY_ACCESS_TOKEN`, the simulator's); or give `tokens`. */
  accessToken?: string;
  /** Where each request's token comes from (credentials/token-provider.ts). */
  tokens?: ShopifyTokenProvider;
  /** Default `2026-10`, the version the operations are typed and validated against. */
  apiVersion?: string;
  /** `SHOPIFY_ADMIN_URL`, for a simulator or proxy over plain HTTP. */
  adminUrl?: string;
  logger: Logger;
  metrics: Registry;
  /** Admin API calls in flight at once for this shop (default 4). */
  maxConcurrent?: number;
  /** `setAvailableQuantities` chunks sent at once (default 3). */
  chunkConcurrency?: number;
  retry?: Partial<RetryPolicy>;
  requestTimeoutMs?: number;
  /** Bulk export polling: first interval, longest interval, and how long to wait at most. */
  bulk?: { pollIntervalMs?: number; maxPollIntervalMs?: number; timeoutMs?: number };
  clock?: Clock;
  random?: () => number;
}

const operations = {
  listLocations: prepareOperation(listLocationsDocument),
  listVariants: prepareOperation(listVariantsDocument),
  getLevels: prepareOperation(getInventoryLevelsAtLocationDocument),
  listLevels: prepareOperation(listInventoryLevelsAtLocationDocument),
  listOrders: prepareOperation(listOrdersDocument),
  findOrder: prepareOperation(findOrderDocument),
  orderDetailLineItems: prepareOperation(orderDetailLineItemsDocument),
  listWebhooks: prepareOperation(listWebhookSubscriptionsDocument),
  createWebhook: prepareOperation(createWebhookSubscriptionDocument),
  getMetafields: prepareOperation(getVariantMetafieldsDocument),
  setMetafields: prepareOperation(setMetafieldsDocument),
  createMetafieldDefinition: prepareOperation(createMetafieldDefinitionDocument),
  liveNodes: prepareOperation(liveNodesDocument),
};

/** Shopify's cap on `first` and on input arrays such as `nodes(ids:)`. */
const MAX_PAGE = 250;
const SKUS_PER_SEARCH = 50;
const METAFIELDS_PER_SET = 25;
const METAFIELDS_PER_VARIANT = 20;

/** A SKU as a search value: bare when it is a plain token, otherwise quoted. */
export function skuSearchTerm(sku: string): string {
  if (/^[A-Za-z0-9._\-/+#]+$/.test(sku) && !sku.startsWith('-')) return `sku:${sku}`;
  return `sku:"${sku.replace(/(["\\])/g, '\\$1')}"`;
}

function quantitiesOf(list: readonly { name: string; quantity: number }[]): { available: number; onHand: number; committed: number } {
  const named = new Map(list.map((q) => [q.name, q.quantity]));
  return { available: named.get('available') ?? 0, onHand: named.get('on_hand') ?? 0, committed: named.get('committed') ?? 0 };
}

function variantOf(node: ListVariantsQuery['productVariants']['nodes'][number]): ShopifyVariant {
  return {
    variantId: node.id,
    sku: node.sku,
    productId: node.product.id,
    productTitle: node.product.title,
    variantTitle: node.title,
    inventoryItemId: node.inventoryItem.id,
    tracked: node.inventoryItem.tracked,
  };
}

function orderLineOf(node: OrderLineFieldsFragment): ShopifyOrderLine {
  return { id: node.id, sku: node.sku, variantId: node.variant?.id ?? null, title: node.title, quantity: node.quantity, currentQuantity: node.currentQuantity };
}

function orderDetailLineOf(node: OrderDetailLineFieldsFragment): ShopifyOrderDetailLine {
  return { ...orderLineOf(node), unitPrice: node.discountedUnitPriceAfterAllDiscountsSet.shopMoney.amount };
}

function orderDetailsOf(node: OrderFieldsFragment & OrderDetailFieldsFragment, lines: ShopifyOrderDetailLine[]): ShopifyOrderDetails {
  const address = node.shippingAddress;
  return {
    ...orderSummaryOf(node),
    currencyCode: node.currencyCode,
    email: node.email,
    customer: node.customer ? { displayName: node.customer.displayName, email: node.customer.defaultEmailAddress?.emailAddress ?? null } : null,
    shippingAddress: address
      ? {
          name: address.name,
          company: address.company,
          address1: address.address1,
          address2: address.address2,
          city: address.city,
          zip: address.zip,
          provinceCode: address.provinceCode,
          countryCode: address.countryCodeV2,
          phone: address.phone,
        }
      : null,
    locationId: node.retailLocation?.id ?? null,
    lineItems: lines,
  };
}

function orderSummaryOf(node: OrderFieldsFragment): ShopifyOrderSummary {
  return {
    id: node.id,
    legacyId: node.legacyResourceId,
    name: node.name,
    createdAt: node.createdAt,
    updatedAt: node.updatedAt,
    cancelledAt: node.cancelledAt,
    cancelReason: node.cancelReason,
    financialStatus: node.displayFinancialStatus,
    fulfillmentStatus: node.displayFulfillmentStatus,
    test: node.test,
  };
}

const bulkLevelLine = z.object({
  __parentId: z.string(),
  updatedAt: z.string().nullish(),
  item: z.object({ id: z.string() }),
  quantities: z.array(z.object({ name: z.string(), quantity: z.number().int() })),
});

const bulkVariantLine = z.object({
  id: z.string(),
  sku: z.string().nullable(),
  title: z.string(),
  product: z.object({ id: z.string(), title: z.string() }),
  inventoryItem: z.object({ id: z.string(), tracked: z.boolean() }),
});

/**
 * `ShopifyClient` on the GraphQL Admin API. One instance per shop: it owns that shop's cost
 * bucket, so share it rather than creating one per request.
 */
export class AdminApiShopifyClient implements ShopifyClient {
  readonly #transport: AdminApiTransport;
  readonly #logger: Logger;
  readonly #chunkConcurrency: number;
  readonly #clock: Clock;
  readonly #bulkOptions: AdminApiShopifyClientOptions['bulk'];

  constructor(options: AdminApiShopifyClientOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#bulkOptions = options.bulk;
    this.#logger = options.logger.child({ component: 'shopify-client' });
    this.#chunkConcurrency = options.chunkConcurrency ?? 3;
    this.#transport = new AdminApiTransport({
      shopDomain: options.shopDomain,
      accessToken: options.accessToken,
      tokens: options.tokens,
      apiVersion: options.apiVersion ?? '2026-10',
      adminUrl: options.adminUrl,
      logger: options.logger,
      metrics: options.metrics,
      maxConcurrent: options.maxConcurrent,
      retry: options.retry,
      requestTimeoutMs: options.requestTimeoutMs,
      clock: this.#clock,
      random: options.random,
    });
  }

  rateLimit(): ShopifyRateLimit | null {
    return this.#transport.rateLimit();
  }

  /** Largest page size whose estimated cost stays within Shopify's single-query limit. */
  #fit(operation: PreparedOperation, wanted: number, variablesFor: (size: number) => Record<string, unknown>): number {
    let size = Math.max(1, Math.min(MAX_PAGE, Math.floor(wanted)));
    while (size > 1 && this.#transport.estimateCost(operation, variablesFor(size)) > SINGLE_QUERY_MAX_COST) {
      size = Math.max(1, Math.floor(size * 0.8));
    }
    return size;
  }

  async listLocations(options: { includeInactive?: boolean } = {}): Promise<ShopifyLocation[]> {
    const locations: ShopifyLocation[] = [];
    let after: string | null = null;
    do {
      const variables: Record<string, unknown> = { first: 100, after, includeInactive: options.includeInactive ?? false };
      const { data }: { data: ListLocationsQuery } = await this.#transport.request<ListLocationsQuery>(operations.listLocations, variables);
      for (const node of data.locations.nodes) locations.push({ ...node });
      after = data.locations.pageInfo.hasNextPage ? data.locations.pageInfo.endCursor : null;
    } while (after);
    return locations;
  }

  async findVariantsBySkus(skus: readonly string[]): Promise<ShopifyVariant[]> {
    const wanted = new Map<string, string>();
    for (const sku of skus) if (sku.trim() !== '') wanted.set(sku.toLowerCase(), sku);
    const variants = new Map<string, ShopifyVariant>();
    for (const group of chunk([...wanted.values()], SKUS_PER_SEARCH)) {
      const query = group.map(skuSearchTerm).join(' OR ');
      // A little room beyond one variant per SKU for duplicates; more pages follow if needed.
      const first = this.#fit(operations.listVariants, group.length + 10, (size) => ({ first: size, query }));
      let after: string | null = null;
      do {
        const { data }: { data: ListVariantsQuery } = await this.#transport.request<ListVariantsQuery>(operations.listVariants, { first, after, query });
        for (const node of data.productVariants.nodes) {
          // Search is tokenised; keep only exact (case-insensitive) SKU matches.
          if (node.sku !== null && wanted.has(node.sku.toLowerCase())) variants.set(node.id, variantOf(node));
        }
        after = data.productVariants.pageInfo.hasNextPage ? data.productVariants.pageInfo.endCursor : null;
      } while (after);
    }
    return [...variants.values()];
  }

  async listVariants(page: PageRequest = {}): Promise<Page<ShopifyVariant>> {
    const first = this.#fit(operations.listVariants, page.first ?? MAX_PAGE, (size) => ({ first: size }));
    const { data } = await this.#transport.request<ListVariantsQuery>(operations.listVariants, { first, after: page.after ?? null });
    return {
      items: data.productVariants.nodes.map(variantOf),
      nextCursor: data.productVariants.pageInfo.hasNextPage ? data.productVariants.pageInfo.endCursor : null,
    };
  }

  async getInventoryLevels(pairs: readonly InventoryItemLocation[]): Promise<InventoryLevelQuantities[]> {
    const itemsByLocation = new Map<LocationId, Set<string>>();
    for (const pair of pairs) {
      let items = itemsByLocation.get(pair.locationId);
      if (!items) itemsByLocation.set(pair.locationId, (items = new Set()));
      items.add(pair.inventoryItemId);
    }
    const levels: InventoryLevelQuantities[] = [];
    for (const [locationId, itemIds] of itemsByLocation) {
      const ids = [...itemIds];
      const size = this.#fit(operations.getLevels, MAX_PAGE, (n) => ({ ids: Array.from({ length: n }, () => ''), locationId }));
      for (const group of chunk(ids, size)) {
        const { data } = await this.#transport.request<GetInventoryLevelsAtLocationQuery>(operations.getLevels, { ids: group, locationId });
        for (const node of data.nodes) {
          if (!node || !('id' in node) || !node.inventoryLevel) continue;
          levels.push({
            inventoryItemId: node.id,
            locationId,
            ...quantitiesOf(node.inventoryLevel.quantities),
            updatedAt: node.inventoryLevel.updatedAt ?? null,
          });
        }
      }
    }
    return levels;
  }

  async listInventoryLevelsAtLocation(locationId: LocationId, page: PageRequest = {}): Promise<Page<InventoryLevelQuantities>> {
    const first = this.#fit(operations.listLevels, page.first ?? MAX_PAGE, (size) => ({ locationId, first: size }));
    const { data } = await this.#transport.request<ListInventoryLevelsAtLocationQuery>(operations.listLevels, { locationId, first, after: page.after ?? null });
    if (!data.location) throw new NotFoundError('Shopify location', locationId);
    const connection = data.location.inventoryLevels;
    return {
      items: connection.nodes.map((node) => ({
        inventoryItemId: node.item.id,
        locationId,
        ...quantitiesOf(node.quantities),
        updatedAt: node.updatedAt ?? null,
      })),
      nextCursor: connection.pageInfo.hasNextPage ? connection.pageInfo.endCursor : null,
    };
  }

  setAvailableQuantities(items: readonly SetAvailableQuantity[], options: SetAvailableQuantitiesOptions): Promise<SetQuantityOutcome[]> {
    return setAvailableQuantities(
      {
        transport: this.#transport,
        logger: this.#logger,
        readLevels: (pairs) => this.getInventoryLevels(pairs),
        chunkConcurrency: this.#chunkConcurrency,
        sleep: (ms) => this.#clock.sleep(ms),
      },
      items,
      options,
    );
  }

  adjustAvailableQuantities(changes: readonly AdjustAvailableQuantity[], options: AdjustAvailableOptions): Promise<AdjustedAvailable[]> {
    return adjustAvailableQuantities(this.#transport, changes, options);
  }

  #bulk(query: string, run?: BulkExportRun): AsyncGenerator<Record<string, unknown>> {
    return runBulkExport({ transport: this.#transport, logger: this.#logger, clock: this.#clock, ...this.#bulkOptions }, query, run);
  }

  async *exportInventoryLevels(options: ExportInventoryLevelsOptions = {}): AsyncIterable<InventoryLevelQuantities> {
    for await (const line of this.#bulk(bulkInventoryLevelsQuery, { beforeDownload: options.beforeDownload })) {
      // Location lines carry only an id; level lines name their location as __parentId.
      if (!('__parentId' in line)) continue;
      const level = bulkLevelLine.safeParse(line);
      if (!level.success) throw new ShopifyError('SHOPIFY_BAD_RESPONSE', 'bulk inventory level line has an unexpected shape', { issues: level.error.issues });
      yield {
        inventoryItemId: level.data.item.id,
        locationId: level.data.__parentId,
        ...quantitiesOf(level.data.quantities),
        updatedAt: level.data.updatedAt ?? null,
      };
    }
  }

  async *exportVariants(): AsyncIterable<ShopifyVariant> {
    for await (const line of this.#bulk(bulkVariantsQuery)) {
      const variant = bulkVariantLine.safeParse(line);
      if (!variant.success) throw new ShopifyError('SHOPIFY_BAD_RESPONSE', 'bulk variant line has an unexpected shape', { issues: variant.error.issues });
      yield variantOf(variant.data);
    }
  }

  async listOrdersUpdatedSince(since: Date, page: PageRequest = {}): Promise<Page<ShopifyOrderSummary>> {
    const query = `updated_at:>='${since.toISOString()}'`;
    const first = this.#fit(operations.listOrders, page.first ?? MAX_PAGE, (size) => ({ first: size, query }));
    const { data } = await this.#transport.request<ListOrdersQuery>(operations.listOrders, { first, after: page.after ?? null, query });
    return { items: data.orders.nodes.map(orderSummaryOf), nextCursor: data.orders.pageInfo.hasNextPage ? data.orders.pageInfo.endCursor : null };
  }

  async findOrder(id: OrderId): Promise<ShopifyOrderDetails | null> {
    const { data } = await this.#transport.request<FindOrderQuery>(operations.findOrder, { id, lineItemsFirst: 100 });
    if (!data.order) return null;
    const lines = data.order.lineItems.nodes.map(orderDetailLineOf);
    let after = data.order.lineItems.pageInfo.hasNextPage ? data.order.lineItems.pageInfo.endCursor : null;
    const first = after ? this.#fit(operations.orderDetailLineItems, MAX_PAGE, (size) => ({ id, first: size })) : 0;
    while (after) {
      const page: { data: OrderDetailLineItemsQuery } = await this.#transport.request<OrderDetailLineItemsQuery>(operations.orderDetailLineItems, { id, first, after });
      if (!page.data.order) break;
      lines.push(...page.data.order.lineItems.nodes.map(orderDetailLineOf));
      after = page.data.order.lineItems.pageInfo.hasNextPage ? page.data.order.lineItems.pageInfo.endCursor : null;
    }
    return orderDetailsOf(data.order, lines);
  }

  async listWebhookSubscriptions(): Promise<WebhookSubscription[]> {
    const subscriptions: WebhookSubscription[] = [];
    let after: string | null = null;
    do {
      const { data }: { data: ListWebhookSubscriptionsQuery } = await this.#transport.request<ListWebhookSubscriptionsQuery>(operations.listWebhooks, { first: 100, after });
      for (const node of data.webhookSubscriptions.nodes) subscriptions.push({ ...node, includeFields: [...node.includeFields] });
      after = data.webhookSubscriptions.pageInfo.hasNextPage ? data.webhookSubscriptions.pageInfo.endCursor : null;
    } while (after);
    return subscriptions;
  }

  async createWebhookSubscription(subscription: CreateWebhookSubscription): Promise<WebhookSubscription> {
    const { data } = await this.#transport.request<CreateWebhookSubscriptionMutation>(operations.createWebhook, {
      topic: subscription.topic as WebhookSubscriptionTopic,
      subscription: {
        uri: subscription.uri,
        format: 'JSON',
        ...(subscription.name ? { name: subscription.name } : {}),
        ...(subscription.includeFields ? { includeFields: subscription.includeFields } : {}),
      },
    });
    const payload = data.webhookSubscriptionCreate;
    if (payload?.webhookSubscription && payload.userErrors.length === 0) {
      return { ...payload.webhookSubscription, includeFields: [...payload.webhookSubscription.includeFields] };
    }
    // A retried create (lost response) meets its own first attempt: Shopify refuses the address as taken.
    const existing = (await this.listWebhookSubscriptions()).find((candidate) => candidate.topic === subscription.topic && candidate.uri === subscription.uri);
    if (existing) return existing;
    throw new ShopifyError('SHOPIFY_USER_ERROR', `Shopify refused the webhook subscription: ${payload?.userErrors.map((error) => error.message).join('; ') ?? 'no payload'}`, {
      topic: subscription.topic,
      userErrors: payload?.userErrors ?? [],
    });
  }

  async getVariantMetafields(variantIds: readonly VariantId[], namespace?: string): Promise<VariantMetafield[]> {
    const ids = [...new Set(variantIds)];
    const metafields: VariantMetafield[] = [];
    const size = this.#fit(operations.getMetafields, MAX_PAGE, (n) => ({ ids: Array.from({ length: n }, () => ''), namespace: namespace ?? null, first: METAFIELDS_PER_VARIANT }));
    for (const group of chunk(ids, size)) {
      const { data } = await this.#transport.request<GetVariantMetafieldsQuery>(operations.getMetafields, {
        ids: group,
        namespace: namespace ?? null,
        first: METAFIELDS_PER_VARIANT,
      });
      for (const node of data.nodes) {
        if (!node || !('id' in node)) continue;
        for (const field of node.metafields.nodes) {
          metafields.push({ variantId: node.id, namespace: field.namespace, key: field.key, type: field.type, value: field.value, compareDigest: field.compareDigest });
        }
      }
    }
    return metafields;
  }

  async readLiveNodes(ids: readonly string[]): Promise<ShopifyLiveNodes> {
    const unique = [...new Set(ids)];
    const result: ShopifyLiveNodes = { nodes: [], calls: 0, requestedQueryCost: 0, actualQueryCost: 0 };
    if (unique.length === 0) return result;
    const size = this.#fit(operations.liveNodes, MAX_PAGE, (n) => ({ ids: Array.from({ length: n }, () => '') }));
    for (const group of chunk(unique, size)) {
      const answer = await this.#transport.request<LiveNodesQuery>(operations.liveNodes, { ids: group });
      result.calls += 1;
      result.requestedQueryCost += answer.requestedCost ?? 0;
      result.actualQueryCost += answer.actualCost ?? 0;
      for (const node of answer.data.nodes) {
        if (node?.__typename === 'ProductVariant') {
          result.nodes.push({
            kind: 'variant',
            id: node.id,
            title: node.title,
            price: node.price,
            inventoryPolicy: node.inventoryPolicy,
            tracked: node.inventoryItem.tracked,
            productId: node.product.id,
            productTitle: node.product.title,
            productStatus: node.product.status,
          });
        } else if (node?.__typename === 'Order') {
          result.nodes.push({ kind: 'order', id: node.id, financialStatus: node.displayFinancialStatus, fulfillmentStatus: node.displayFulfillmentStatus, cancelledAt: node.cancelledAt });
        }
      }
    }
    return result;
  }

  async setVariantMetafields(metafields: readonly VariantMetafield[]): Promise<void> {
    for (const group of chunk(metafields, METAFIELDS_PER_SET)) {
      const { data } = await this.#transport.request<SetMetafieldsMutation>(operations.setMetafields, {
        metafields: group.map((field) => ({ ownerId: field.variantId, namespace: field.namespace, key: field.key, type: field.type, value: field.value })),
      });
      const userErrors = data.metafieldsSet?.userErrors ?? [];
      if (userErrors.length > 0) {
        throw new ShopifyError('SHOPIFY_USER_ERROR', `Shopify refused metafields: ${userErrors.map((error) => error.message).join('; ')}`, { userErrors });
      }
    }
  }

  async writeVariantMetafields(metafields: readonly GuardedVariantMetafield[]): Promise<MetafieldWriteOutcome[]> {
    const outcomes: (MetafieldWriteOutcome | undefined)[] = new Array(metafields.length);
    const send = async (indexes: readonly number[]): Promise<number[]> => {
      const { data } = await this.#transport.request<SetMetafieldsMutation>(operations.setMetafields, {
        metafields: indexes.map((index) => {
          const field = metafields[index]!;
          return { ownerId: field.variantId, namespace: field.namespace, key: field.key, type: field.type, value: field.value, compareDigest: field.compareDigest };
        }),
      });
      const payload = data.metafieldsSet;
      const userErrors = payload?.userErrors ?? [];
      if (userErrors.length === 0) {
        const digests = new Map((payload?.metafields ?? []).map((written) => [`${'id' in written.owner ? written.owner.id : ''}|${written.namespace}.${written.key}`, written.compareDigest]));
        for (const index of indexes) {
          const field = metafields[index]!;
          outcomes[index] = { status: 'applied', variantId: field.variantId, compareDigest: digests.get(`${field.variantId}|${field.namespace}.${field.key}`) ?? null };
        }
        return [];
      }
      // All or none: the refused elements get their outcome, the others were kept back by them.
      const refused = new Set<number>();
      for (const error of userErrors) {
        const position = error.elementIndex ?? null;
        if (position === null || position < 0 || position >= indexes.length) {
          throw new ShopifyError('SHOPIFY_USER_ERROR', `Shopify refused metafields: ${userErrors.map((e) => e.message).join('; ')}`, { userErrors });
        }
        const index = indexes[position]!;
        refused.add(index);
        const variantId = metafields[index]!.variantId;
        outcomes[index] = error.code === 'STALE_OBJECT' ? { status: 'stale', variantId } : { status: 'failed', variantId, code: error.code ?? 'INVALID', message: error.message };
      }
      return indexes.filter((index) => !refused.has(index));
    };
    for (const group of chunk(metafields.map((_, index) => index), METAFIELDS_PER_SET)) {
      const keptBack = await send(group);
      if (keptBack.length === 0) continue;
      const stillKeptBack = await send(keptBack);
      for (const index of stillKeptBack) {
        outcomes[index] = { status: 'failed', variantId: metafields[index]!.variantId, code: 'KEPT_BACK', message: 'another metafield of the same call was refused twice' };
      }
    }
    return outcomes.map((outcome) => outcome!);
  }

  async ensureVariantMetafieldDefinition(definition: VariantMetafieldDefinition): Promise<'created' | 'exists'> {
    const { data } = await this.#transport.request<CreateMetafieldDefinitionMutation>(operations.createMetafieldDefinition, {
      definition: { ...definition, ownerType: 'PRODUCTVARIANT' },
    });
    const payload = data.metafieldDefinitionCreate;
    if (payload?.createdDefinition) return 'created';
    const userErrors = payload?.userErrors ?? [];
    if (userErrors.some((error) => error.code === 'TAKEN')) return 'exists';
    throw new ShopifyError('SHOPIFY_USER_ERROR', `Shopify refused the metafield definition: ${userErrors.map((error) => error.message).join('; ') || 'no payload'}`, { userErrors });
  }

  getOrderFulfilments(orderId: OrderId): Promise<ShopifyOrderFulfilments | null> {
    return getOrderFulfilments(this.#transport, orderId);
  }

  createFulfillment(input: CreateFulfillmentInput): Promise<{ id: string; status: string; createdAt: string }> {
    return createFulfillment(this.#transport, input);
  }

  /** Waits for calls in flight and stops accepting new ones. */
  close(): Promise<void> {
    return this.#transport.close();
  }
}
