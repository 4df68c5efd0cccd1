/**
 * The live fields the gateway shows beside its own data (`Product.shopify`, `Order.shopify`):
 * variants and orders together, by id, through `nodes` (at most 250 ids per call). Requested
 * cost for 100 variants is about 300 points (each variant, its product and its inventory item).
 */
export const liveNodesDocument = /* GraphQL */ `#graphql
  query LiveNodes($ids: [ID!]!) {
    nodes(ids: $ids) {
      __typename
      ... on ProductVariant {
        id
        title
        price
        inventoryPolicy
        inventoryItem {
          tracked
        }
        product {
          id
          title
          status
        }
      }
      ... on Order {
        id
        displayFinancialStatus
        displayFulfillmentStatus
        cancelledAt
      }
    }
  }
`;
