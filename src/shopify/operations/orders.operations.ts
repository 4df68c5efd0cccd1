/** What the gateway reads of an order in a listing, and with its lines and details in `findOrderDocument`. */
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

/**
 * Orders updated at or after a time (`query: "updated_at:>='…'"`), oldest update first, without
 * their lines: the poll only asks which it knows (about one cost point an order; with 30 lines
 * each an order cost over 60, and a peak's orders took the poll longer than the peak), and reads
 * the lines of one it does not know with `findOrderDocument`.
 */
export const listOrdersDocument = /* GraphQL */ `#graphql
  query ListOrders($first: Int!, $after: String, $query: String!) {
    orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
      nodes {
        ...OrderFields
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
  ${orderFields}
`;

/** What an ERP sales order needs beyond `OrderFields` (read for one order at a time). */
const orderDetailFields = /* GraphQL */ `#graphql
  fragment OrderDetailFields on Order {
    currencyCode
    email
    customer {
      displayName
      defaultEmailAddress {
        emailAddress
      }
    }
    shippingAddress {
      name
      company
      address1
      address2
      city
      zip
      provinceCode
      countryCodeV2
      phone
    }
    retailLocation {
      id
    }
  }
`;

const orderDetailLineFields = /* GraphQL */ `#graphql
  fragment OrderDetailLineFields on LineItem {
    ...OrderLineFields
    discountedUnitPriceAfterAllDiscountsSet {
      shopMoney {
        amount
      }
    }
  }
`;

export const findOrderDocument = /* GraphQL */ `#graphql
  query FindOrder($id: ID!, $lineItemsFirst: Int!) {
    order(id: $id) {
      ...OrderFields
      ...OrderDetailFields
      lineItems(first: $lineItemsFirst) {
        nodes {
          ...OrderDetailLineFields
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
  ${orderFields}
  ${orderDetailFields}
  ${orderLineFields}
  ${orderDetailLineFields}
`;

/** The rest of an order's line items with their prices, for `findOrder` on orders with many lines. */
export const orderDetailLineItemsDocument = /* GraphQL */ `#graphql
  query OrderDetailLineItems($id: ID!, $first: Int!, $after: String) {
    order(id: $id) {
      lineItems(first: $first, after: $after) {
        nodes {
          ...OrderDetailLineFields
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
  ${orderLineFields}
  ${orderDetailLineFields}
`;
