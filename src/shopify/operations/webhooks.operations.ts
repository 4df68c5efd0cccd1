export const listWebhookSubscriptionsDocument = /* GraphQL */ `#graphql
  query ListWebhookSubscriptions($first: Int!, $after: String) {
    webhookSubscriptions(first: $first, after: $after) {
      nodes {
        id
        topic
        uri
        name
        includeFields
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

export const createWebhookSubscriptionDocument = /* GraphQL */ `#graphql
  mutation CreateWebhookSubscription($topic: WebhookSubscriptionTopic!, $subscription: WebhookSubscriptionInput!) {
    webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
      webhookSubscription {
        id
        topic
        uri
        name
        includeFields
      }
      userErrors {
        field
        message
      }
    }
  }
`;
