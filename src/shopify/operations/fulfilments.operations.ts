/**
 * Fulfilment orders and fulfilments of one order: what the gateway needs to turn an ERP shipment
 * into a Shopify fulfilment (which units remain to ship, where) and to find one it already made.
 * Sizes are kept small so each read stays well under Shopify's single-query cost limit; longer
 * lists are paged with the documents below.
 */
export const orderFulfillmentOrdersDocument = /* GraphQL */ `#graphql
  query OrderFulfillmentOrders($id: ID!, $first: Int!, $after: String, $linesFirst: Int!) {
    order(id: $id) {
      id
      cancelledAt
      fulfillmentOrders(first: $first, after: $after) {
        nodes {
          ...FulfillmentOrderFields
          lineItems(first: $linesFirst) {
            nodes {
              ...FulfillmentOrderLineFields
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
  }
  fragment FulfillmentOrderFields on FulfillmentOrder {
    id
    status
    assignedLocation {
      location {
        id
      }
    }
  }
  fragment FulfillmentOrderLineFields on FulfillmentOrderLineItem {
    id
    sku
    inventoryItemId
    totalQuantity
    remainingQuantity
    lineItem {
      id
    }
  }
`;

/** The rest of one fulfilment order's line items. */
export const fulfillmentOrderLineItemsDocument = /* GraphQL */ `#graphql
  query FulfillmentOrderLineItems($id: ID!, $first: Int!, $after: String) {
    fulfillmentOrder(id: $id) {
      lineItems(first: $first, after: $after) {
        nodes {
          id
          sku
          inventoryItemId
          totalQuantity
          remainingQuantity
          lineItem {
            id
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

/** The order's fulfilments (Shopify lists at most 250 per order here), with tracking and lines. */
export const orderFulfillmentsDocument = /* GraphQL */ `#graphql
  query OrderFulfillments($id: ID!, $first: Int!, $linesFirst: Int!) {
    order(id: $id) {
      id
      fulfillments(first: $first) {
        ...FulfillmentFields
      }
    }
  }
  fragment FulfillmentFields on Fulfillment {
    id
    status
    createdAt
    trackingInfo(first: 5) {
      number
      company
      url
    }
    fulfillmentLineItems(first: $linesFirst) {
      nodes {
        quantity
        lineItem {
          id
        }
      }
    }
  }
`;

/** Ships units of fulfilment orders of one order at one location; no idempotency key is offered. */
export const createFulfillmentDocument = /* GraphQL */ `#graphql
  mutation CreateFulfillment($fulfillment: FulfillmentInput!) {
    fulfillmentCreate(fulfillment: $fulfillment) {
      fulfillment {
        id
        status
        createdAt
      }
      userErrors {
        field
        message
      }
    }
  }
`;
