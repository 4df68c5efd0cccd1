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
