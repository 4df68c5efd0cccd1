/**
 * Bulk exports for whole-catalogue reads. The two export queries are run by Shopify through
 * `bulkOperationRunQuery` (connections take no `first`), and answered as JSONL where nested
 * nodes carry `__parentId`; they cost ~10 points whatever the catalogue size.
 */
export const runBulkQueryDocument = /* GraphQL */ `#graphql
  mutation RunBulkQuery($query: String!) {
    bulkOperationRunQuery(query: $query) {
      bulkOperation {
        id
        status
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`;

export const bulkOperationStatusDocument = /* GraphQL */ `#graphql
  query BulkOperationStatus($id: ID!) {
    bulkOperation(id: $id) {
      id
      status
      errorCode
      objectCount
      url
    }
  }
`;

/** JSONL: one line per location (`id`), then its levels with `__parentId` = the location. */
export const bulkInventoryLevelsQuery = /* GraphQL */ `#graphql
  query BulkInventoryLevels {
    locations {
      edges {
        node {
          id
          inventoryLevels {
            edges {
              node {
                updatedAt
                item {
                  id
                }
                quantities(names: ["available", "on_hand", "committed"]) {
                  name
                  quantity
                }
              }
            }
          }
        }
      }
    }
  }
`;

/** JSONL: one line per variant. */
export const bulkVariantsQuery = /* GraphQL */ `#graphql
  query BulkVariants {
    productVariants {
      edges {
        node {
          id
          sku
          title
          product {
            id
            title
          }
          inventoryItem {
            id
            tracked
          }
        }
      }
    }
  }
`;
