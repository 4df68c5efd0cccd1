/** The Shopify simulator's public surface; see README.md in this folder. */
export { startShopifySimulator, type ShopifySimulator, type ShopifySimulatorOptions } from './shopify-simulator.js';
export { SimulatorControl, type FulfillmentOrderView, type FulfillmentView, type LevelView, type OrderView, type OrderLineView, type OversellView, type PlaceOrderView } from './simulator-control.js';
export type { MerchantFulfillmentInput } from './fulfillments.state.js';
export { signWebhookBody, SHOPIFY_RETRY_SCHEDULE_SECONDS, type WebhookDelivery, type WebhookFaults } from './webhook-dispatcher.js';
export type { AdminApiFaults, AdminFaultKind } from './admin-faults.js';
export { SHOPIFY_PLANS, type PlanLimits, type ShopifyPlanName, type ThrottleStatus } from './cost-bucket.js';
export { ManualClock, systemClock, type SimulatorClock } from './clock.js';
export { shopSeedSchema, type ShopSeed, type SeedResult } from './seed.schema.js';
export type { AdminRequestLogEntry } from './request-log.js';
export type { PlaceOrderInput, PlaceOrderLine, RefundLineInput } from './shop-state.js';
export { ADMIN_API_VERSION, loadAdminSchema } from './admin-schema.js';
export { requestedQueryCost, SINGLE_QUERY_MAX_COST } from './query-cost.js';
