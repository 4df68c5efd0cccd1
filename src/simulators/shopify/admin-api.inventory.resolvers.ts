import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import { badRequest, byId, checkInputArrays, idempotent, iso, noSort, notImplemented, pageArgs, requireChangeFromQuantity, requireId, search, type AdminContext, type Args, type ResolverMap } from './admin-api.resolver-kit.js';
import { gid, idOfType, inventoryLevelGid, parseGid } from './gid.js';
import { paginate } from './pagination.js';
import { requiredFieldValues, type SearchField } from './search-query.js';
import { ShopState, type UserError } from './shop-state.js';
import { QUANTITY_NAMES, type AdjustmentGroupRecord, type InventoryChangeRecord, type InventoryItemRecord, type LevelRecord, type QuantityName } from './shop-state.models.js';

/**
 * Admin API resolvers of inventory: items, levels and their named quantities, adjustment groups,
 * and the quantity mutations (`inventorySetQuantities`, `inventoryAdjustQuantities`,
 * `inventoryActivate`) with their input checks. They translate between GraphQL and the shop's
 * records; the rules live in the state modules.
 */

const itemSearchFields: Record<string, SearchField<InventoryItemRecord>> = {
  sku: { kind: 'string', read: (item) => item.sku },
  id: { kind: 'id', read: (item) => item.id },
  created_at: { kind: 'date', read: (item) => item.createdAt },
  updated_at: { kind: 'date', read: (item) => item.updatedAt },
};

const levelSearchFields: Record<string, SearchField<LevelRecord>> = {
  inventory_item_id: { kind: 'id', read: (level) => level.itemId },
  location_id: { kind: 'id', read: (level) => level.locationId },
  created_at: { kind: 'date', read: (level) => level.createdAt },
  updated_at: { kind: 'date', read: (level) => level.updatedAt },
};

export function levelConnection(levels: readonly LevelRecord[], idOf: (level: LevelRecord) => number, args: Args, context: AdminContext, info: GraphQLResolveInfo) {
  let list = levels;
  if (typeof args.query === 'string' && args.query.trim()) {
    const compiled = search(context, info, args.query, levelSearchFields);
    list = levels.filter(compiled.matches);
  }
  return paginate(list, idOf, noSort, pageArgs(args, context));
}

function changeRecords(group: AdjustmentGroupRecord, args: Args): InventoryChangeRecord[] {
  let changes = group.changes;
  const itemIds = Array.isArray(args.inventoryItemIds) ? new Set((args.inventoryItemIds as string[]).map((value) => idOfType(value, 'InventoryItem'))) : null;
  const locationIds = Array.isArray(args.locationIds) ? new Set((args.locationIds as string[]).map((value) => idOfType(value, 'Location'))) : null;
  const names = Array.isArray(args.quantityNames) ? new Set(args.quantityNames as string[]) : null;
  if (itemIds) changes = changes.filter((change) => itemIds.has(change.itemId));
  if (locationIds) changes = changes.filter((change) => locationIds.has(change.locationId));
  if (names) changes = changes.filter((change) => names.has(change.name));
  return changes;
}

function inventoryPayload(result: { group: AdjustmentGroupRecord | null; userErrors: UserError[] }) {
  return { inventoryAdjustmentGroup: result.group, userErrors: result.userErrors };
}

export function createInventoryResolvers(): ResolverMap {
  return {
    QueryRoot: {
      inventoryItem: (_source, args, context) => {
        const id = requireId(args.id, 'InventoryItem');
        return id === null ? null : (context.state.items.get(id) ?? null);
      },
      inventoryItems: (_source, args, context, info) => {
        const state = context.state;
        const compiled = search(context, info, args.query, itemSearchFields, ['sku']);
        const narrowed = requiredFieldValues(compiled.root, 'sku');
        let candidates: readonly InventoryItemRecord[];
        if (narrowed) {
          const found = new Map<number, InventoryItemRecord>();
          for (const { value, prefix } of narrowed) for (const item of state.findItemsBySku(value, prefix)) found.set(item.id, item);
          candidates = [...found.values()].sort((a, b) => a.id - b.id).filter(compiled.matches);
        } else {
          candidates = compiled.root ? state.itemsById().filter(compiled.matches) : state.itemsById();
        }
        return paginate(candidates, byId, noSort, pageArgs(args, context));
      },
      inventoryLevel: (_source, args, context) => {
        const parsed = typeof args.id === 'string' ? parseGid(args.id) : null;
        if (!parsed) throw new GraphQLError(`Invalid global id '${String(args.id)}'`, { extensions: { code: 'argumentLiteralsIncompatible' } });
        if (parsed.type !== 'InventoryLevel') return null;
        return context.state.findLevel(Number(parsed.params.get('inventory_item_id')), parsed.id) ?? null;
      },
    },

    Mutation: {
      inventorySetQuantities: (_source, args, context, info) => {
        const input = args.input as Record<string, unknown> & { quantities: Record<string, unknown>[] };
        checkInputArrays(input, ['input']);
        requireChangeFromQuantity(input.quantities, 'quantities');
        return idempotent(
          info,
          context,
          args,
          () =>
            inventoryPayload(
              context.state.setQuantities({
                name: input.name as string,
                reason: input.reason as string,
                referenceDocumentUri: (input.referenceDocumentUri as string | null | undefined) ?? null,
                quantities: input.quantities.map((quantity) => ({
                  inventoryItemId: quantity.inventoryItemId as string,
                  locationId: quantity.locationId as string,
                  quantity: quantity.quantity as number,
                  changeFromQuantity: quantity.changeFromQuantity as number | null,
                })),
              }),
            ),
          (code, message) => ({ inventoryAdjustmentGroup: null, userErrors: [{ field: null, message, code }] }),
        );
      },
      inventoryAdjustQuantities: (_source, args, context, info) => {
        const input = args.input as Record<string, unknown> & { changes: Record<string, unknown>[] };
        checkInputArrays(input, ['input']);
        requireChangeFromQuantity(input.changes, 'changes');
        return idempotent(
          info,
          context,
          args,
          () =>
            inventoryPayload(
              context.state.adjustQuantities({
                name: input.name as string,
                reason: input.reason as string,
                referenceDocumentUri: (input.referenceDocumentUri as string | null | undefined) ?? null,
                changes: input.changes.map((change) => ({
                  inventoryItemId: change.inventoryItemId as string,
                  locationId: change.locationId as string,
                  delta: change.delta as number,
                  changeFromQuantity: change.changeFromQuantity as number | null,
                  ledgerDocumentUri: (change.ledgerDocumentUri as string | null | undefined) ?? null,
                })),
              }),
            ),
          (code, message) => ({ inventoryAdjustmentGroup: null, userErrors: [{ field: null, message, code }] }),
        );
      },
      inventoryActivate: (_source, args, context, info) =>
        idempotent(
          info,
          context,
          args,
          () => {
            const result = context.state.activateInventory(
              args.inventoryItemId as string,
              args.locationId as string,
              (args.available as number | null | undefined) ?? null,
              (args.onHand as number | null | undefined) ?? null,
            );
            return { inventoryLevel: result.level, userErrors: result.userErrors };
          },
          (_code, message): { inventoryLevel: LevelRecord | null; userErrors: Omit<UserError, 'code'>[] } => ({ inventoryLevel: null, userErrors: [{ field: null, message }] }),
        ),
    },

    InventoryItem: {
      id: (source) => gid('InventoryItem', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      duplicateSkuCount: (source, _args, context) => context.state.duplicateSkuCount(source as unknown as InventoryItemRecord),
      unitCost: (source, _args, context) => (source.unitCost === null ? null : { amount: source.unitCost, currencyCode: context.state.currency }),
      harmonizedSystemCode: () => null,
      countryCodeOfOrigin: () => null,
      provinceCodeOfOrigin: () => null,
      inventoryHistoryUrl: () => null,
      trackedEditable: () => ({ locked: false, reason: null }),
      locationsCount: (source) => ({ count: [...(source as unknown as InventoryItemRecord).levels.values()].filter((level) => level.isActive).length, precision: 'EXACT' }),
      variant: (source, _args, context) => context.state.variants.get(source.variantId as number),
      variants: (source, args, context) => paginate([context.state.variants.get(source.variantId as number)!], byId, noSort, pageArgs(args, context)),
      inventoryLevel: (source, args) => {
        const locationId = requireId(args.locationId, 'Location');
        const level = locationId === null ? undefined : (source as unknown as InventoryItemRecord).levels.get(locationId);
        return level && (level.isActive || args.includeInactive === true) ? level : null;
      },
      inventoryLevels: (source, args, context, info) => {
        const levels = [...(source as unknown as InventoryItemRecord).levels.values()].filter((level) => args.includeInactive === true || level.isActive).sort((a, b) => a.locationId - b.locationId);
        return levelConnection(levels, (level) => level.locationId, args, context, info);
      },
    },

    InventoryLevel: {
      id: (source) => inventoryLevelGid(source.locationId as number, source.itemId as number),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      canDeactivate: (source) => ShopState.onHand(source as unknown as LevelRecord) === 0 && (source.committed as number) === 0,
      deactivationAlert: () => null,
      item: (source, _args, context) => context.state.items.get(source.itemId as number),
      location: (source, _args, context) => context.state.locations.get(source.locationId as number),
      quantities: (source, args) => {
        const level = source as unknown as LevelRecord;
        const names = args.names as string[];
        const unknown = names.filter((name) => !(QUANTITY_NAMES as readonly string[]).includes(name));
        if (unknown.length > 0) {
          throw badRequest(`Invalid quantity name(s): ${unknown.join(', ')}. Valid names are ${QUANTITY_NAMES.join(', ')}.`);
        }
        const updatedAt = iso(level.updatedAt);
        return names.map((name) => ({
          __typename: 'InventoryQuantity',
          level,
          name,
          quantity: ShopState.quantity(level, name as QuantityName),
          updatedAt,
        }));
      },
      scheduledChanges: () => {
        throw notImplemented('InventoryLevel', 'scheduledChanges');
      },
    },

    InventoryQuantity: {
      id: (source) => {
        const level = source.level as LevelRecord;
        return `gid://shopify/InventoryQuantity/${level.locationId}?inventory_item_id=${level.itemId}&name=${source.name as string}`;
      },
    },

    InventoryAdjustmentGroup: {
      id: (source) => gid('InventoryAdjustmentGroup', source.id as number),
      createdAt: (source) => iso(source.createdAt as number),
      app: () => null,
      staffMember: () => null,
      changes: (source, args) => changeRecords(source as unknown as AdjustmentGroupRecord, args),
    },

    InventoryChange: {
      item: (source, _args, context) => context.state.items.get(source.itemId as number) ?? null,
      location: (source, _args, context) => context.state.locations.get(source.locationId as number) ?? null,
    },
  };
}
