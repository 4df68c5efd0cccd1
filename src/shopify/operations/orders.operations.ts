/** What the gateway reads of an order; line items beyond the first page are fetched with `orderLineItemsDocument`. */
const orderFields = /* GraphQL */ `#graphql
  fragment OrderFields on Order {
    id
    legacyResourceId
    name
    createdAt
    updatedAt
    cancelledAt
    cancelReason
    displayFinancialStatus
    displayFulfillmentStatus
    test
  }
`;

const orderLineFields = /* GraphQL */ `#graphql
  fragment OrderLineFields on LineItem {
    id
    sku
    title
    quantity
    currentQuantity
    variant {
      id
    }
  }
`;

/** Orders updated at or after a time (`query: "updated_at:>='…'"`), oldest update first. */
export const listOrdersDocument = /* GraphQL */ `#graphql
  query ListOrders($first: Int!, $after: String, $query: String!, $lineItemsFirst: Int!) {
    orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
      nodes {
        ...OrderFields
        lineItems(first: $lineItemsFirst) {
          nodes {
            ...OrderLineFields
          }
          pageInfo {
            hasNextPage
            endCursor
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
  ${orderFields}
  ${orderLineFields}
`;

export const findOrderDocument = /* GraphQL */ `#graphql
  query FindOrder($id: ID!, $lineItemsFirst: Int!) {
    order(id: $id) {
      ...OrderFields
      lineItems(first: $lineItemsFirst) {
        nodes {
          ...OrderLineFields
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
  ${orderFields}
  ${orderLineFields}
`;

/** The rest of an order's line items, for orders with more lines than one page. */
export const orderLineItemsDocument = /* GraphQL */ `#graphql
  query OrderLineItems($id: ID!, $first: Int!, $after: String) {
    order(id: $id) {
      lineItems(first: $first, after: $after) {
        nodes {
          ...OrderLineFields
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
  ${orderLineFields}
`;
