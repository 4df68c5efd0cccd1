/**
 * What the other domains may use of the inventory domain: this file and `read-model/**`, nothing
 * else (ESLint refuses any other import of src/inventory from a peer domain). Services are given
 * to peers as narrow ports in their module options, built in the composition root from the
 * inventory module's `services`; what is here are the types those ports are cut from, the push
 * signal and push requests every domain that changes an ATP term uses, the unit conversion
 * between ERP and Shopify quantities, and the models peers read.
 */
export type { AtpService } from './atp.service.js';
export type { MappingService } from './mapping.service.js';
export type { InventoryServices, CatalogueStatus } from './inventory.module.js';
export type { PushSignalHub } from './push-signal.js';
export { requestPush, type PushSignal, type PositionKey } from './push-requests.js';
export { groupPushTargets } from './push-targets.js';
export { StoreUnavailableError, type StoreTakeGroup, type StoreTakePort, type StoreTakeRecord, type TakeInDoubt } from './store-take.port.js';
export { IDENTITY_CONVERSION, toErpUnits, toShopifyUnits } from './unit-conversion.js';
export type { ErpSource, PushTarget, ShopifyPushGroup, SkuMapping, UnitConversion } from './inventory.models.js';
