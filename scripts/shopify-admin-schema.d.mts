import type { GraphQLSchema } from 'graphql';

export declare const shopifyAdminSchemaPath: string;
export declare function loadShopifyAdminSchema(path?: string): GraphQLSchema;
export default function shopifyAdminSchemaLoader(pointer: string): GraphQLSchema;
