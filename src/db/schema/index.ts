// Every table of the gateway, one file per domain. drizzle-kit reads this file to generate
// the SQL migrations in drizzle/; the repositories import the tables from here.
export * from './api-keys.js';
export * from './inventory-levels.js';
export * from './erp-catalogue.js';
export * from './mapping.js';
export * from './catalogue-refreshes.js';
export * from './safety-stock.js';
export * from './reservations.js';
export * from './scheduler.js';
export * from './sync.js';
export * from './orders.js';
export * from './privacy.js';
export * from './shopify-app.js';
export * from './lots.js';
export * from './fulfilments.js';
export * from './sync-shopify-edits.js';
export * from './operator-actions.js';
export * from './health.js';
