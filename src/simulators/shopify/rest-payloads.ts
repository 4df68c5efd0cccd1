import { gid, inventoryLevelGid } from './gid.js';
import { ShopState } from './shop-state.js';
import type { FulfillmentRecord, LevelRecord, LineItemRecord, OrderRecord, RefundRecord } from './shop-state.models.js';

/**
 * Webhook bodies in the REST resource shape Shopify sends (compare the fixtures in
 * vendor/shopify/rest-*.sample.json): numeric ids plus `admin_graphql_api_id`, money as
 * strings with `*_set` pairs, lower-case enum values, timestamps with an offset. Fields the
 * simulator has no data for are present with null or empty values, as in a real payload.
 */

/** REST timestamps carry the shop's UTC offset; the simulated shop runs on UTC. */
export function restTime(ms: number | null): string | null {
  if (ms === null) return null;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', '+00:00');
}

function moneySet(amount: string, currency: string) {
  return { shop_money: { amount, currency_code: currency }, presentment_money: { amount, currency_code: currency } };
}

function money(value: number): string {
  return (Math.round(value * 100) / 100).toFixed(2);
}

function restLineItem(line: LineItemRecord, currency: string) {
  const current = line.quantity - line.removedQuantity;
  const fulfillable = Math.max(0, line.quantity - line.fulfilledQuantity - line.removedQuantity);
  return {
    id: line.id,
    admin_graphql_api_id: gid('LineItem', line.id),
    attributed_staffs: [],
    current_quantity: current,
    fulfillable_quantity: fulfillable,
    fulfillment_service: 'manual',
    fulfillment_status: line.fulfilledQuantity === 0 ? null : line.fulfilledQuantity >= line.quantity - line.removedQuantity ? 'fulfilled' : 'partial',
    gift_card: false,
    grams: 0,
    name: line.name,
    price: line.price,
    price_set: moneySet(line.price, currency),
    product_exists: line.productId !== null,
    product_id: line.productId,
    properties: [],
    quantity: line.quantity,
    requires_shipping: line.requiresShipping,
    sku: line.sku,
    taxable: line.taxable,
    title: line.title,
    total_discount: '0.00',
    total_discount_set: moneySet('0.00', currency),
    variant_id: line.variantId,
    variant_inventory_management: line.inventoryItemId !== null ? 'shopify' : null,
    variant_title: line.variantTitle,
    vendor: line.vendor,
    tax_lines: [],
    duties: [],
    discount_allocations: [],
  };
}

const FULFILLMENT_STATUS: Record<OrderRecord['fulfillmentStatus'], string | null> = {
  UNFULFILLED: null,
  PARTIALLY_FULFILLED: 'partial',
  FULFILLED: 'fulfilled',
  RESTOCKED: 'restocked',
};

export function restOrder(order: OrderRecord, shopDomain: string) {
  const currency = order.currency;
  const total = money(ShopState.orderTotal(order));
  const current = money(ShopState.currentOrderTotal(order));
  const paid = order.financialStatus === 'PAID' || order.financialStatus === 'PARTIALLY_REFUNDED' || order.financialStatus === 'REFUNDED';
  return {
    id: order.id,
    admin_graphql_api_id: gid('Order', order.id),
    app_id: null,
    browser_ip: null,
    buyer_accepts_marketing: false,
    cancel_reason: order.cancelReason?.toLowerCase() ?? null,
    cancelled_at: restTime(order.cancelledAt),
    cart_token: null,
    checkout_id: null,
    checkout_token: null,
    client_details: null,
    closed_at: restTime(order.closedAt),
    confirmation_number: null,
    confirmed: true,
    contact_email: order.email,
    created_at: restTime(order.createdAt),
    currency,
    current_subtotal_price: current,
    current_subtotal_price_set: moneySet(current, currency),
    current_total_additional_fees_set: null,
    current_total_discounts: '0.00',
    current_total_discounts_set: moneySet('0.00', currency),
    current_total_duties_set: null,
    current_total_price: current,
    current_total_price_set: moneySet(current, currency),
    current_total_tax: '0.00',
    current_total_tax_set: moneySet('0.00', currency),
    customer_locale: null,
    device_id: null,
    discount_codes: [],
    duties_included: false,
    email: order.email,
    estimated_taxes: false,
    financial_status: order.financialStatus.toLowerCase(),
    fulfillment_status: FULFILLMENT_STATUS[order.fulfillmentStatus],
    landing_site: null,
    landing_site_ref: null,
    location_id: order.locationId,
    merchant_of_record_app_id: null,
    name: order.name,
    note: order.note,
    note_attributes: [],
    number: order.number,
    order_number: order.number + 1000,
    order_status_url: `https://${shopDomain}/orders/${order.id}/authenticate`,
    original_total_additional_fees_set: null,
    original_total_duties_set: null,
    payment_gateway_names: ['manual'],
    phone: null,
    po_number: order.poNumber,
    presentment_currency: currency,
    processed_at: restTime(order.processedAt),
    reference: null,
    referring_site: null,
    source_identifier: null,
    source_name: order.sourceName,
    source_url: null,
    subtotal_price: total,
    subtotal_price_set: moneySet(total, currency),
    tags: order.tags.join(', '),
    tax_exempt: false,
    tax_lines: [],
    taxes_included: false,
    test: order.test,
    token: order.id.toString(16),
    total_cash_rounding_payment_adjustment_set: moneySet('0.00', currency),
    total_cash_rounding_refund_adjustment_set: moneySet('0.00', currency),
    total_discounts: '0.00',
    total_discounts_set: moneySet('0.00', currency),
    total_line_items_price: total,
    total_line_items_price_set: moneySet(total, currency),
    total_outstanding: paid ? '0.00' : total,
    total_price: total,
    total_price_set: moneySet(total, currency),
    total_shipping_price_set: moneySet('0.00', currency),
    total_tax: '0.00',
    total_tax_set: moneySet('0.00', currency),
    total_tip_received: '0.00',
    total_weight: 0,
    updated_at: restTime(order.updatedAt),
    user_id: null,
    billing_address: null,
    customer: order.customer
      ? {
          id: order.customer.id,
          email: order.customer.email,
          created_at: restTime(order.createdAt),
          updated_at: restTime(order.createdAt),
          first_name: order.customer.firstName,
          last_name: order.customer.lastName,
          state: 'enabled',
          note: null,
          verified_email: true,
          multipass_identifier: null,
          tax_exempt: false,
          phone: order.customer.phone,
          currency,
          tax_exemptions: [],
          admin_graphql_api_id: gid('Customer', order.customer.id),
          default_address: null,
        }
      : null,
    discount_applications: [],
    fulfillments: order.fulfillments.map((fulfillment) => restFulfillment(order, fulfillment)),
    line_items: order.lineItems.map((line) => restLineItem(line, currency)),
    payment_terms: null,
    refunds: order.refunds.map((refund) => restRefund(order, refund)),
    shipping_address: order.shippingAddress,
    shipping_lines: [],
  };
}

/** The REST Fulfillment resource (`fulfillments/create`, and each of an order's `fulfillments`). */
export function restFulfillment(order: OrderRecord, fulfillment: FulfillmentRecord) {
  const first = fulfillment.tracking[0];
  return {
    id: fulfillment.id,
    admin_graphql_api_id: gid('Fulfillment', fulfillment.id),
    created_at: restTime(fulfillment.createdAt),
    location_id: fulfillment.locationId,
    name: fulfillment.name,
    order_id: order.id,
    origin_address: fulfillment.originAddress
      ? {
          address1: fulfillment.originAddress.address1,
          address2: fulfillment.originAddress.address2,
          city: fulfillment.originAddress.city,
          country_code: fulfillment.originAddress.countryCode,
          province_code: fulfillment.originAddress.provinceCode,
          zip: fulfillment.originAddress.zip,
        }
      : {},
    receipt: {},
    service: 'manual',
    shipment_status: null,
    status: fulfillment.status.toLowerCase(),
    tracking_company: first?.company ?? null,
    tracking_number: first?.number ?? null,
    tracking_numbers: fulfillment.tracking.map((tracking) => tracking.number).filter((number): number is string => number !== null),
    tracking_url: first?.url ?? null,
    tracking_urls: fulfillment.tracking.map((tracking) => tracking.url).filter((url): url is string => url !== null),
    updated_at: restTime(fulfillment.updatedAt),
    line_items: fulfillment.lines.map((entry) => {
      const line = order.lineItems.find((candidate) => candidate.id === entry.lineItemId)!;
      return { ...restLineItem(line, order.currency), quantity: entry.quantity };
    }),
  };
}

export function restRefund(order: OrderRecord, refund: RefundRecord) {
  const currency = order.currency;
  const amount = money(refund.lines.reduce((sum, line) => sum + Number(line.subtotal), 0));
  return {
    id: refund.id,
    order_id: order.id,
    created_at: restTime(refund.createdAt),
    note: refund.note,
    user_id: null,
    processed_at: restTime(refund.createdAt),
    duties: [],
    total_duties_set: moneySet('0.00', currency),
    return: null,
    restock: refund.restock,
    additional_fees: [],
    total_additional_fees_set: moneySet('0.00', currency),
    refund_shipping_lines: [],
    admin_graphql_api_id: gid('Refund', refund.id),
    order_adjustments: [],
    refund_line_items: refund.lines.map((line) => {
      const lineItem = order.lineItems.find((candidate) => candidate.id === line.lineItemId)!;
      return {
        location_id: line.locationId,
        restock_type: line.restockType.toLowerCase(),
        quantity: line.quantity,
        id: line.id,
        line_item_id: line.lineItemId,
        subtotal: Number(line.subtotal),
        total_tax: 0,
        subtotal_set: moneySet(line.subtotal, currency),
        total_tax_set: moneySet('0.00', currency),
        line_item: restLineItem(lineItem, currency),
      };
    }),
    transactions: [
      {
        id: refund.id + 1,
        order_id: order.id,
        kind: 'refund',
        gateway: 'manual',
        status: 'success',
        message: null,
        created_at: restTime(refund.createdAt),
        test: order.test,
        authorization: null,
        location_id: null,
        user_id: null,
        parent_id: null,
        processed_at: restTime(refund.createdAt),
        device_id: null,
        error_code: null,
        source_name: 'web',
        receipt: {},
        amount,
        currency,
        payment_id: null,
        manual_payment_gateway: true,
        amount_rounding: null,
        admin_graphql_api_id: gid('OrderTransaction', refund.id + 1),
      },
    ],
  };
}

export function restInventoryLevel(level: LevelRecord) {
  return {
    inventory_item_id: level.itemId,
    location_id: level.locationId,
    available: level.available,
    updated_at: restTime(level.updatedAt),
    admin_graphql_api_id: inventoryLevelGid(level.locationId, level.itemId),
  };
}
