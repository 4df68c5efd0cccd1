import { byId, checkInputArrays, iso, noSort, notImplemented, pageArgs, requireId, type FieldResolver, type ResolverMap } from './admin-api.resolver-kit.js';
import { gid } from './gid.js';
import { compareDigest, metafieldTypeCategory, type MetafieldDefinitionInput, type MetafieldsSetInput } from './metafields.state.js';
import { paginate } from './pagination.js';
import type { MetafieldDefinitionRecord, MetafieldRecord } from './shop-state.models.js';

/**
 * Admin API resolvers of metafields and metafield definitions: the `metafield`/`metafields`
 * fields of every owner, `metafieldsSet`, `metafieldDefinitionCreate`, `metafieldDefinitions`
 * and `metafieldDefinition`. The rules live in metafields.state.ts.
 */

/** `metafield(namespace:, key:)` and `metafields(first:, namespace:, keys:)` of an owner type. */
export function metafieldResolvers(ownerType: MetafieldRecord['ownerType']): Record<string, FieldResolver> {
  return {
    metafield: (source, args, context) => {
      const namespace = (args.namespace as string | null | undefined) ?? '$app';
      let key = args.key as string;
      let effectiveNamespace = namespace;
      if (args.namespace === undefined || args.namespace === null) {
        const dot = key.indexOf('.');
        if (dot > 0) {
          effectiveNamespace = key.slice(0, dot);
          key = key.slice(dot + 1);
        }
      }
      return context.state.findMetafield(ownerType, source.id as number, effectiveNamespace, key) ?? null;
    },
    metafields: (source, args, context) => {
      let metafields = context.state.metafieldsOf(ownerType, source.id as number);
      if (typeof args.namespace === 'string') metafields = metafields.filter((metafield) => metafield.namespace === args.namespace);
      if (Array.isArray(args.keys)) {
        const keys = new Set(args.keys as string[]);
        metafields = metafields.filter((metafield) => keys.has(`${metafield.namespace}.${metafield.key}`));
      }
      return paginate(metafields, byId, noSort, pageArgs(args, context));
    },
  };
}

export function createMetafieldResolvers(): ResolverMap {
  return {
    QueryRoot: {
      metafieldDefinitions: (_source, args, context) => {
        const sortKey = (args.sortKey as string | undefined) ?? 'ID';
        if (sortKey !== 'ID') throw notImplemented('QueryRoot', 'metafieldDefinitions', `sortKey ${sortKey}`);
        if (typeof args.query === 'string' && args.query.trim()) throw notImplemented('QueryRoot', 'metafieldDefinitions', 'query');
        const definitions = [...context.state.metafields.definitions.values()].filter(
          (definition) =>
            definition.ownerType === args.ownerType &&
            (typeof args.namespace !== 'string' || definition.namespace === args.namespace) &&
            (typeof args.key !== 'string' || definition.key === args.key) &&
            (args.pinnedStatus === undefined || args.pinnedStatus === 'ANY' || args.pinnedStatus === 'UNPINNED'),
        );
        return paginate(definitions, byId, noSort, pageArgs(args, context));
      },
      metafieldDefinition: (_source, args, context) => {
        if (typeof args.id === 'string') {
          const id = requireId(args.id, 'MetafieldDefinition');
          return id === null ? null : (context.state.metafields.definitions.get(id) ?? null);
        }
        const identifier = args.identifier as { ownerType: string; namespace?: string | null; key: string } | null | undefined;
        if (!identifier) return null;
        return context.state.metafields.findDefinition(identifier.ownerType, identifier.namespace ?? '$app', identifier.key) ?? null;
      },
    },

    Mutation: {
      metafieldsSet: (_source, args, context) => {
        const result = context.state.setMetafields(args.metafields as MetafieldsSetInput[]);
        return { metafields: result.metafields, userErrors: result.userErrors };
      },
      metafieldDefinitionCreate: (_source, args, context) => {
        const input = args.definition as MetafieldDefinitionInput & Record<string, unknown>;
        checkInputArrays(input, ['definition']);
        for (const unsupported of ['access', 'capabilities', 'constraints', 'validations'] as const) {
          const value = input[unsupported];
          if (value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0)) throw notImplemented('Mutation', 'metafieldDefinitionCreate', `definition.${unsupported}`);
        }
        const result = context.state.metafields.createDefinition(input);
        return { createdDefinition: result.definition, userErrors: result.userErrors };
      },
    },

    Metafield: {
      id: (source) => gid('Metafield', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      jsonValue: (source) => {
        const type = source.type as string;
        if (type === 'json' || type.startsWith('list.')) return JSON.parse(source.value as string) as unknown;
        if (type === 'number_integer' || type === 'number_decimal') return Number(source.value);
        if (type === 'boolean') return source.value === 'true';
        return source.value;
      },
      compareDigest: (source) => compareDigest(source as unknown as MetafieldRecord),
      sizeInBytes: (source) => Buffer.byteLength(source.value as string),
      definition: (source, _args, context) => context.state.metafields.findDefinition(source.ownerType as string, source.namespace as string, source.key as string) ?? null,
      reference: () => null,
      owner: (source, _args, context) => {
        const ownerId = source.ownerId as number;
        switch (source.ownerType as MetafieldRecord['ownerType']) {
          case 'PRODUCTVARIANT':
            return context.state.variants.get(ownerId);
          case 'PRODUCT':
            return context.state.products.get(ownerId);
          case 'ORDER':
            return context.state.orders.get(ownerId);
          case 'LOCATION':
            return context.state.locations.get(ownerId);
        }
      },
    },

    MetafieldDefinition: {
      id: (source) => gid('MetafieldDefinition', source.id as number),
      type: (source) => ({ name: source.type, category: metafieldTypeCategory(source.type as string), supportedValidations: [], supportsDefinitionMigrations: true, valueType: null }),
      // Definitions an app creates without `access` are readable and writable by the merchant.
      access: () => ({ admin: 'PUBLIC_READ_WRITE', storefront: 'NONE', customerAccount: 'NONE' }),
      capabilities: () => ({
        adminFilterable: { eligible: true, enabled: false, status: 'NOT_FILTERABLE' },
        analyticsQueryable: { eligible: false, enabled: false },
        cartToOrderCopyable: { eligible: false, enabled: false },
        smartCollectionCondition: { eligible: false, enabled: false },
        uniqueValues: { eligible: false, enabled: false },
      }),
      constraints: () => null,
      pinnedPosition: () => null,
      standardTemplate: () => null,
      useAsCollectionCondition: () => false,
      validationStatus: () => 'ALL_VALID',
      validations: () => [],
      metafields: (source, args, context) => paginate(context.state.metafields.metafieldsOfDefinition(source as unknown as MetafieldDefinitionRecord), byId, noSort, pageArgs(args, context)),
      metafieldsCount: (source, _args, context) => context.state.metafields.metafieldsOfDefinition(source as unknown as MetafieldDefinitionRecord).length,
    },
  };
}
