import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { PostalAddress } from '../erp/erp-connector.js';
import type { ShopifyOrderDetails } from '../shopify/shopify-client.js';
import { netUnitPrice, parseMoney } from './money.js';
import { numericShopifyId, shopifyGid } from '../shopify/gid.js';
import type { OrderSnapshot, RefundSnapshot, SnapshotLine } from './order.models.js';

/**
 * Webhook bodies (REST resources, see vendor/shopify/rest-*.sample.json) and poll results
 * (GraphQL, through the Shopify port) turned into snapshots. The schemas name only what the
 * pipeline uses and tolerate everything else: Shopify adds fields in every version, and protected
 * customer data arrives as null for apps without approval.
 */

const restId = z.union([z.number().int().positive(), z.string().regex(/^\d+$/)]).transform(String);
const restMoney = z.union([z.string().regex(/^-?\d+(\.\d+)?$/), z.number().finite()]).transform(String);
const restTime = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO-8601 timestamp')
  .transform((value) => new Date(value).toISOString());

const restAddress = z
  .object({
    name: z.string().nullish(),
    first_name: z.string().nullish(),
    last_name: z.string().nullish(),
    company: z.string().nullish(),
    address1: z.string().nullish(),
    address2: z.string().nullish(),
    city: z.string().nullish(),
    zip: z.string().nullish(),
    province_code: z.string().nullish(),
    country_code: z.string().nullish(),
    phone: z.string().nullish(),
  })
  .nullish();

const restLineItem = z.object({
  id: restId,
  sku: z.string().nullish(),
  variant_id: restId.nullish(),
  title: z.string().nullish(),
  name: z.string().nullish(),
  quantity: z.number().int().nonnegative(),
  current_quantity: z.number().int().nonnegative().nullish(),
  price: restMoney,
  gift_card: z.boolean().nullish(),
  tax_lines: z.array(z.object({ price: restMoney })).nullish(),
  discount_allocations: z.array(z.object({ amount: restMoney })).nullish(),
});

const restRefundLine = z.object({
  line_item_id: restId,
  quantity: z.number().int().nonnegative(),
  restock_type: z.string().nullish(),
  location_id: restId.nullish(),
});

export const restOrderSchema = z.object({
  id: restId,
  name: z.string().min(1),
  created_at: restTime,
  updated_at: restTime,
  cancelled_at: restTime.nullish(),
  test: z.boolean().nullish(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code'),
  taxes_included: z.boolean().nullish(),
  email: z.string().nullish(),
  contact_email: z.string().nullish(),
  phone: z.string().nullish(),
  customer: z
    .object({ first_name: z.string().nullish(), last_name: z.string().nullish(), email: z.string().nullish(), phone: z.string().nullish() })
    .nullish(),
  shipping_address: restAddress,
  location_id: restId.nullish(),
  line_items: z.array(restLineItem),
  refunds: z.array(z.object({ refund_line_items: z.array(restRefundLine).nullish() })).nullish(),
});

export const restRefundSchema = z.object({
  id: restId,
  order_id: restId,
  created_at: restTime,
  refund_line_items: z.array(restRefundLine),
});

export type RestOrder = z.output<typeof restOrderSchema>;
export type RestRefund = z.output<typeof restRefundSchema>;

export type ParsedWebhookBody =
  | { readonly kind: 'order'; readonly snapshot: OrderSnapshot }
  | { readonly kind: 'refund'; readonly refund: RefundSnapshot };

/** Why a body is unusable, for the inbox row and the API; thrown by `parseWebhookBody`. */
export class MalformedWebhookBody extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedWebhookBody';
  }
}

/** Parses a verified body of an order topic; throws `MalformedWebhookBody` with the reason. */
export function parseWebhookBody(topic: string, rawBody: string): ParsedWebhookBody {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch (error) {
    throw new MalformedWebhookBody(`body is not JSON: ${(error as Error).message}`);
  }
  if (topic === 'refunds/create') {
    const parsed = restRefundSchema.safeParse(json);
    if (!parsed.success) throw new MalformedWebhookBody(`not a Shopify refund: ${describeIssues(parsed.error)}`);
    return { kind: 'refund', refund: refundSnapshotOf(parsed.data) };
  }
  const parsed = restOrderSchema.safeParse(json);
  if (!parsed.success) throw new MalformedWebhookBody(`not a Shopify order: ${describeIssues(parsed.error)}`);
  return { kind: 'order', snapshot: snapshotOfRestOrder(parsed.data) };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
}

function joinName(...parts: Array<string | null | undefined>): string | null {
  const name = parts.filter((part): part is string => typeof part === 'string' && part.trim() !== '').join(' ').trim();
  return name === '' ? null : name;
}

function postalAddressOf(address: z.output<typeof restAddress>): PostalAddress | null {
  if (!address || !address.address1 || !address.city || !address.country_code) return null;
  return {
    name: address.name ?? joinName(address.first_name, address.last_name),
    company: address.company ?? null,
    line1: address.address1,
    line2: address.address2 || null,
    city: address.city,
    postalCode: address.zip || null,
    countryCode: address.country_code.toUpperCase(),
    provinceCode: address.province_code || null,
    phone: address.phone || null,
  };
}

export function snapshotOfRestOrder(order: RestOrder): OrderSnapshot {
  const refunded = new Map<string, number>();
  for (const refund of order.refunds ?? []) {
    for (const line of refund.refund_line_items ?? []) refunded.set(line.line_item_id, (refunded.get(line.line_item_id) ?? 0) + line.quantity);
  }
  const email = order.email || order.contact_email || order.customer?.email || null;
  const lines: SnapshotLine[] = order.line_items.map((line) => {
    const current = line.current_quantity ?? line.quantity;
    return {
      lineItemId: line.id,
      sku: line.sku || null,
      variantId: line.variant_id ? shopifyGid('ProductVariant', line.variant_id) : null,
      title: line.name || line.title || '',
      quantity: line.quantity,
      currentQuantity: current,
      editedAwayQuantity: Math.max(0, line.quantity - current - (refunded.get(line.id) ?? 0)),
      unitPrice: netUnitPrice({
        unitPrice: line.price,
        quantity: line.quantity,
        discounts: (line.discount_allocations ?? []).map((discount) => discount.amount),
        includedTaxes: order.taxes_included ? (line.tax_lines ?? []).map((tax) => tax.price) : [],
      }),
      giftCard: line.gift_card ?? false,
    };
  });
  return {
    shopifyOrderId: order.id,
    name: order.name,
    createdAt: order.created_at,
    updatedAt: order.updated_at,
    cancelledAt: order.cancelled_at ?? null,
    test: order.test ?? false,
    currency: order.currency,
    customer: {
      name:
        order.shipping_address?.name ??
        joinName(order.shipping_address?.first_name, order.shipping_address?.last_name) ??
        joinName(order.customer?.first_name, order.customer?.last_name) ??
        email ??
        `Shopify customer of ${order.name}`,
      email,
      phone: order.phone || order.customer?.phone || order.shipping_address?.phone || null,
    },
    shippingAddress: postalAddressOf(order.shipping_address),
    locationId: order.location_id ? shopifyGid('Location', order.location_id) : null,
    lines,
  };
}

export function refundSnapshotOf(refund: RestRefund): RefundSnapshot {
  return {
    refundId: refund.id,
    shopifyOrderId: refund.order_id,
    createdAt: refund.created_at,
    lines: refund.refund_line_items.map((line) => ({
      lineItemId: line.line_item_id,
      quantity: line.quantity,
      restockType: (line.restock_type ?? 'no_restock').toLowerCase(),
      locationId: line.location_id ? shopifyGid('Location', line.location_id) : null,
    })),
  };
}

/**
 * A snapshot from the poll (`findOrder`, GraphQL through the Shopify port). It reads no refunds,
 * so removed units count as refunded rather than edited away: the poll never raises conflicts.
 * Its unit prices are after discounts as Shopify states them (tax as the shop prices it).
 */
export function snapshotOfPolledOrder(order: ShopifyOrderDetails): OrderSnapshot {
  const legacyId = order.legacyId || numericShopifyId(order.id, 'Order');
  if (!legacyId) throw new MalformedWebhookBody(`order id ${order.id} is not a Shopify order id`);
  const email = order.email ?? order.customer?.email ?? null;
  return {
    shopifyOrderId: legacyId,
    name: order.name,
    createdAt: new Date(order.createdAt).toISOString(),
    updatedAt: new Date(order.updatedAt).toISOString(),
    cancelledAt: order.cancelledAt ? new Date(order.cancelledAt).toISOString() : null,
    test: order.test,
    currency: order.currencyCode,
    customer: {
      name: order.shippingAddress?.name ?? order.customer?.displayName ?? email ?? `Shopify customer of ${order.name}`,
      email,
      phone: order.shippingAddress?.phone ?? null,
    },
    shippingAddress:
      order.shippingAddress && order.shippingAddress.address1 && order.shippingAddress.city && order.shippingAddress.countryCode
        ? {
            name: order.shippingAddress.name,
            company: order.shippingAddress.company,
            line1: order.shippingAddress.address1,
            line2: order.shippingAddress.address2 || null,
            city: order.shippingAddress.city,
            postalCode: order.shippingAddress.zip,
            countryCode: order.shippingAddress.countryCode.toUpperCase(),
            provinceCode: order.shippingAddress.provinceCode,
            phone: order.shippingAddress.phone,
          }
        : null,
    locationId: order.locationId ?? null,
    lines: order.lineItems.map((line) => ({
      lineItemId: numericShopifyId(line.id, 'LineItem') ?? line.id,
      sku: line.sku || null,
      variantId: line.variantId,
      title: line.title,
      quantity: line.quantity,
      currentQuantity: line.currentQuantity,
      editedAwayQuantity: 0,
      unitPrice: line.unitPrice,
      giftCard: false,
    })),
  };
}

/**
 * What the ERP order was made from: lines (id, variant, SKU, quantity, units edited away) and the
 * shipping address. An update whose digest differs changed the order itself; prices, tags,
 * notes, payment and fulfilment do not count.
 */
export function contentDigestOf(snapshot: OrderSnapshot): string {
  const lines = snapshot.lines
    .filter((line) => !line.giftCard)
    .map((line) => [line.lineItemId, line.variantId, line.sku, line.quantity, line.editedAwayQuantity])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  // Values in a fixed order: the snapshot comes back from jsonb with its keys reordered.
  const a = snapshot.shippingAddress;
  const address = a ? [a.name, a.company, a.line1, a.line2, a.city, a.postalCode, a.countryCode, a.provinceCode, a.phone] : null;
  return createHash('sha256').update(JSON.stringify([lines, address])).digest('hex').slice(0, 32);
}

/** Total of a snapshot's open lines (for logs and tests). */
export function openAmountOf(snapshot: OrderSnapshot): bigint {
  return snapshot.lines.reduce((sum, line) => sum + parseMoney(line.unitPrice) * BigInt(line.currentQuantity), 0n);
}
