/**
 * Named quantities of many inventory items at one location. `nodes(ids:)` takes up to 250 ids;
 * the location is a variable because `inventoryLevel(locationId:)` is per item.
 */
export const getInventoryLevelsAtLocationDocument = /* GraphQL */ `#graphql
  query GetInventoryLevelsAtLocation($ids: [ID!]!, $locationId: ID!) {
    nodes(ids: $ids) {
      ... on InventoryItem {
        id
        inventoryLevel(locationId: $locationId) {
          updatedAt
          quantities(names: ["available", "on_hand", "committed"]) {
            name
            quantity
          }
        }
      }
    }
  }
`;

/** Every inventory level at a location, paged (the full-reconcile read). */
export const listInventoryLevelsAtLocationDocument = /* GraphQL */ `#graphql
  query ListInventoryLevelsAtLocation($locationId: ID!, $first: Int!, $after: String) {
    location(id: $locationId) {
      id
      inventoryLevels(first: $first, after: $after) {
        nodes {
          updatedAt
          item {
            id
          }
          quantities(names: ["available", "on_hand", "committed"]) {
            name
            quantity
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`;

/**
 * Sets absolute `available` quantities (≤250 per call) with compare-and-set on each quantity.
 * The payload is kept minimal: a null adjustment group with userErrors means nothing was applied.
 */
export const setInventoryQuantitiesDocument = /* GraphQL */ `#graphql
  mutation SetInventoryQuantities($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
    inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
      inventoryAdjustmentGroup {
        id
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

/**
 * Adds deltas to `available` (a reservation's take out of what Shopify offers, or its give-back):
 * no compare-and-set, `@idempotent` so a retry after a lost answer replays instead of taking
 * twice; `quantityAfterChange` of each `available` change is Shopify's value right after it.
 */
export const adjustInventoryQuantitiesDocument = /* GraphQL */ `#graphql
  mutation AdjustInventoryQuantities($input: InventoryAdjustQuantitiesInput!, $idempotencyKey: String!) {
    inventoryAdjustQuantities(input: $input) @idempotent(key: $idempotencyKey) {
      inventoryAdjustmentGroup {
        id
        changes(quantityNames: ["available"]) {
          name
          delta
          quantityAfterChange
          item {
            id
          }
          location {
            id
          }
        }
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;
