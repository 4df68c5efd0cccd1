/**
 * Variants with their inventory items. One document serves both SKU search (`query` built from
 * `sku:"A" OR sku:"B"`) and the full catalogue walk (no query, sorted by id so cursors are stable).
 */
export const listVariantsDocument = /* GraphQL */ `#graphql
  query ListVariants($first: Int!, $after: String, $query: String) {
    productVariants(first: $first, after: $after, query: $query, sortKey: ID) {
      nodes {
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
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

/** Variant metafields, for many variants at once (`nodes` takes up to 250 ids). */
export const getVariantMetafieldsDocument = /* GraphQL */ `#graphql
  query GetVariantMetafields($ids: [ID!]!, $namespace: String, $first: Int!) {
    nodes(ids: $ids) {
      ... on ProductVariant {
        id
        metafields(first: $first, namespace: $namespace) {
          nodes {
            namespace
            key
            type
            value
            compareDigest
          }
        }
      }
    }
  }
`;

/**
 * Creates or overwrites metafields (at most 25 per call, all or none: one refused element keeps
 * every other one of the call unwritten); answers each written one's `compareDigest`, the guard
 * of the next write.
 */
export const setMetafieldsDocument = /* GraphQL */ `#graphql
  mutation SetMetafields($metafields: [MetafieldsSetInput!]!) {
    metafieldsSet(metafields: $metafields) {
      metafields {
        id
        namespace
        key
        compareDigest
        owner {
          ... on ProductVariant {
            id
          }
        }
      }
      userErrors {
        field
        message
        code
        elementIndex
      }
    }
  }
`;

/** Declares a metafield (its type, and the name and description merchants see in the admin). */
export const createMetafieldDefinitionDocument = /* GraphQL */ `#graphql
  mutation CreateMetafieldDefinition($definition: MetafieldDefinitionInput!) {
    metafieldDefinitionCreate(definition: $definition) {
      createdDefinition {
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
