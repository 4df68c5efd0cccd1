/** The simulator reads and renders Shopify gids with the gateway's own helpers (src/shopify/gid.ts). */
export { idOfType, inventoryLevelGid, looseId, parseGid, shopifyGid as gid, type ParsedGid } from '../../shopify/gid.js';
