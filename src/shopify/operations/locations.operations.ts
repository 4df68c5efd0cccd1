/** Locations of the shop, paged. */
export const listLocationsDocument = /* GraphQL */ `#graphql
  query ListLocations($first: Int!, $after: String, $includeInactive: Boolean) {
    locations(first: $first, after: $after, includeInactive: $includeInactive, sortKey: ID) {
      nodes {
        id
        name
        isActive
        fulfillsOnlineOrders
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;
