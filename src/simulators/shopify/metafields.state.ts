import { createHash } from 'node:crypto';
import type { MetafieldDefinitionRecord, MetafieldRecord } from './shop-state.models.js';

/**
 * Metafields and their definitions. `metafieldsSet` writes up to 25 metafields atomically (one
 * user error and nothing is written); `compareDigest` is a compare-and-set on the value a client
 * read, a stale one is `STALE_OBJECT`. A definition fixes a key's type: a metafield written under
 * it may omit `type`, and another type is `INVALID_TYPE`. Definitions are unique per owner
 * type, namespace and key (`TAKEN`).
 */

export type MetafieldOwnerType = MetafieldRecord['ownerType'];

export interface MetafieldUserError {
  field: string[] | null;
  message: string;
  code: string | null;
  elementIndex: number | null;
}

export interface MetafieldsSetInput {
  ownerId: string;
  namespace?: string | null;
  key: string;
  type?: string | null;
  value: string;
  compareDigest?: string | null;
}

export interface MetafieldDefinitionInput {
  namespace?: string | null;
  key: string;
  name: string;
  description?: string | null;
  type: string;
  ownerType: string;
}

/** What the metafield rules need from the rest of the shop. */
export interface MetafieldHost {
  now(): number;
  nextId(kind: 'Metafield' | 'MetafieldDefinition'): number;
  ownerExists(ownerType: MetafieldOwnerType, ownerId: number): boolean;
}

/** Owners the simulator stores metafields for, by gid type. */
export const METAFIELD_OWNERS: Readonly<Record<string, MetafieldOwnerType>> = { ProductVariant: 'PRODUCTVARIANT', Product: 'PRODUCT', Order: 'ORDER', Location: 'LOCATION' };

export const METAFIELDS_SET_LIMIT = 25;

/** The metafield types Shopify documents, with their category (`MetafieldDefinitionType.category`). */
const TYPE_CATEGORIES: Readonly<Record<string, string>> = {
  boolean: 'TRUE_FALSE',
  color: 'COLOR',
  date: 'DATE_TIME',
  date_time: 'DATE_TIME',
  dimension: 'MEASUREMENT',
  id: 'TEXT',
  json: 'JSON',
  link: 'URL',
  money: 'MONEY',
  multi_line_text_field: 'TEXT',
  number_decimal: 'NUMBER',
  number_integer: 'NUMBER',
  rating: 'RATING',
  rich_text_field: 'TEXT',
  single_line_text_field: 'TEXT',
  url: 'URL',
  volume: 'MEASUREMENT',
  weight: 'MEASUREMENT',
  collection_reference: 'REFERENCE',
  customer_reference: 'REFERENCE',
  file_reference: 'REFERENCE',
  metaobject_reference: 'REFERENCE',
  page_reference: 'REFERENCE',
  product_reference: 'REFERENCE',
  variant_reference: 'REFERENCE',
};
const LISTABLE = new Set(Object.keys(TYPE_CATEGORIES).filter((type) => !['boolean', 'json', 'money', 'rich_text_field', 'multi_line_text_field'].includes(type)));

/** The category of a metafield type, or undefined when Shopify has no such type. */
export function metafieldTypeCategory(type: string): string | undefined {
  if (type.startsWith('list.')) return LISTABLE.has(type.slice(5)) ? TYPE_CATEGORIES[type.slice(5)] : undefined;
  return TYPE_CATEGORIES[type];
}

/** The digest `metafieldsSet` compares with `compareDigest`: it changes whenever type or value does. */
export function compareDigest(metafield: MetafieldRecord): string {
  return createHash('sha256').update(`${metafield.type}\u0000${metafield.value}`).digest('hex');
}

const KEY_PATTERN = /^[A-Za-z0-9_-]+$/;

function ownerKey(ownerType: MetafieldOwnerType, ownerId: number): string {
  return `${ownerType}:${ownerId}`;
}

function definitionKey(ownerType: string, namespace: string, key: string): string {
  return `${ownerType}:${namespace}.${key}`;
}

export class MetafieldsState {
  readonly definitions = new Map<number, MetafieldDefinitionRecord>();
  private readonly byOwner = new Map<string, Map<string, MetafieldRecord>>();
  private readonly definitionsByKey = new Map<string, MetafieldDefinitionRecord>();

  constructor(private readonly host: MetafieldHost) {}

  metafieldsOf(ownerType: MetafieldOwnerType, ownerId: number): MetafieldRecord[] {
    return [...(this.byOwner.get(ownerKey(ownerType, ownerId))?.values() ?? [])].sort((a, b) => a.id - b.id);
  }

  findMetafield(ownerType: MetafieldOwnerType, ownerId: number, namespace: string, key: string): MetafieldRecord | undefined {
    return this.byOwner.get(ownerKey(ownerType, ownerId))?.get(`${namespace}.${key}`);
  }

  /** Every metafield of a definition's owner type, namespace and key (`MetafieldDefinition.metafields`). */
  metafieldsOfDefinition(definition: MetafieldDefinitionRecord): MetafieldRecord[] {
    const found: MetafieldRecord[] = [];
    for (const owned of this.byOwner.values()) {
      const metafield = owned.get(`${definition.namespace}.${definition.key}`);
      if (metafield && metafield.ownerType === definition.ownerType) found.push(metafield);
    }
    return found.sort((a, b) => a.id - b.id);
  }

  findDefinition(ownerType: string, namespace: string, key: string): MetafieldDefinitionRecord | undefined {
    return this.definitionsByKey.get(definitionKey(ownerType, namespace, key));
  }

  upsertMetafield(ownerType: MetafieldOwnerType, ownerId: number, namespace: string, key: string, type: string, value: string): MetafieldRecord {
    const owner = ownerKey(ownerType, ownerId);
    let owned = this.byOwner.get(owner);
    if (!owned) {
      owned = new Map();
      this.byOwner.set(owner, owned);
    }
    const now = this.host.now();
    const existing = owned.get(`${namespace}.${key}`);
    if (existing) {
      existing.type = type;
      existing.value = value;
      existing.updatedAt = now;
      return existing;
    }
    const record: MetafieldRecord = { __typename: 'Metafield', id: this.host.nextId('Metafield'), ownerType, ownerId, namespace, key, type, value, createdAt: now, updatedAt: now };
    owned.set(`${namespace}.${key}`, record);
    return record;
  }

  /**
   * `metafieldsSet`: creates or updates up to 25 metafields atomically. Owners may be variants,
   * products, orders or locations; a new metafield needs a `type` (or a definition);
   * `compareDigest` guards against overwriting a concurrent change (null: the metafield must
   * not exist yet).
   */
  setMetafields(inputs: MetafieldsSetInput[]): { metafields: MetafieldRecord[] | null; userErrors: MetafieldUserError[] } {
    const errors: MetafieldUserError[] = [];
    if (inputs.length > METAFIELDS_SET_LIMIT) {
      return { metafields: null, userErrors: [{ field: ['metafields'], message: `Exceeded the maximum metafields input limit of ${METAFIELDS_SET_LIMIT}.`, code: 'LESS_THAN_OR_EQUAL_TO', elementIndex: null }] };
    }
    const planned: { ownerType: MetafieldOwnerType; ownerId: number; namespace: string; key: string; type: string; value: string }[] = [];
    inputs.forEach((input, index) => {
      const error = (field: string | null, message: string, code: string) =>
        errors.push({ field: field === null ? ['metafields', String(index)] : ['metafields', String(index), field], message, code, elementIndex: index });
      const match = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)$/.exec(input.ownerId);
      const ownerType = match ? METAFIELD_OWNERS[match[1]!] : undefined;
      const ownerId = match ? Number(match[2]) : NaN;
      if (!ownerType || !this.host.ownerExists(ownerType, ownerId)) return error('ownerId', 'Owner does not exist.', 'INVALID');
      const namespace = input.namespace ?? '$app';
      if (input.key.length < 2 || input.key.length > 64 || !KEY_PATTERN.test(input.key)) return error('key', 'Key is invalid: use 2 to 64 letters, digits, hyphens or underscores.', 'INVALID');
      const existing = this.findMetafield(ownerType, ownerId, namespace, input.key);
      const definition = this.findDefinition(ownerType, namespace, input.key);
      const type = input.type ?? definition?.type ?? existing?.type;
      if (!type) return error('type', "Type can't be blank.", 'BLANK');
      if (definition && type !== definition.type) return error('type', `Type must be ${definition.type}, the type of the metafield's definition.`, 'INVALID_TYPE');
      if (metafieldTypeCategory(type) === undefined) return error('type', `Type ${type} is not a valid metafield type.`, 'INVALID_TYPE');
      if (type === 'json' || type.startsWith('list.')) {
        try {
          const parsed: unknown = JSON.parse(input.value);
          if (type.startsWith('list.') && !Array.isArray(parsed)) throw new Error('not a list');
        } catch {
          return error('value', `Value is invalid JSON for type ${type}.`, 'INVALID_VALUE');
        }
      }
      if (type === 'number_integer' && !/^-?\d+$/.test(input.value)) return error('value', 'Value must be an integer.', 'INVALID_VALUE');
      if (input.compareDigest !== undefined) {
        const current = existing ? compareDigest(existing) : null;
        if (current !== input.compareDigest) {
          return error(null, 'The resource has been updated since it was loaded. Try again with an updated `compareDigest` value.', 'STALE_OBJECT');
        }
      }
      planned.push({ ownerType, ownerId, namespace, key: input.key, type, value: input.value });
    });
    if (errors.length > 0) return { metafields: null, userErrors: errors };
    return { metafields: planned.map((entry) => this.upsertMetafield(entry.ownerType, entry.ownerId, entry.namespace, entry.key, entry.type, entry.value)), userErrors: [] };
  }

  /** `metafieldDefinitionCreate`. */
  createDefinition(input: MetafieldDefinitionInput): { definition: MetafieldDefinitionRecord | null; userErrors: MetafieldUserError[] } {
    const errors: MetafieldUserError[] = [];
    const error = (field: string, message: string, code: string) => errors.push({ field: ['definition', field], message, code, elementIndex: null });
    const namespace = input.namespace ?? '$app';
    if (!Object.values(METAFIELD_OWNERS).includes(input.ownerType as MetafieldOwnerType)) {
      error('ownerType', `Owner type ${input.ownerType} is not supported by the Shopify simulator (it holds metafields of ${Object.values(METAFIELD_OWNERS).join(', ')}).`, 'INCLUSION');
    }
    if (namespace.length < 3) error('namespace', 'Namespace is too short (minimum is 3 characters).', 'TOO_SHORT');
    else if (namespace.length > 255) error('namespace', 'Namespace is too long (maximum is 255 characters).', 'TOO_LONG');
    else if (!/^\$?[A-Za-z0-9_-]+(--[A-Za-z0-9_-]+)?$/.test(namespace)) error('namespace', 'Namespace contains one or more invalid characters.', 'INVALID_CHARACTER');
    if (input.key.length < 2) error('key', 'Key is too short (minimum is 2 characters).', 'TOO_SHORT');
    else if (input.key.length > 64) error('key', 'Key is too long (maximum is 64 characters).', 'TOO_LONG');
    else if (!KEY_PATTERN.test(input.key)) error('key', 'Key contains one or more invalid characters.', 'INVALID_CHARACTER');
    if (!input.name.trim()) error('name', "Name can't be blank.", 'BLANK');
    else if (input.name.length > 255) error('name', 'Name is too long (maximum is 255 characters).', 'TOO_LONG');
    if (input.description && input.description.length > 255) error('description', 'Description is too long (maximum is 255 characters).', 'TOO_LONG');
    if (metafieldTypeCategory(input.type) === undefined) error('type', `Type ${input.type} is not included in the list of metafield types.`, 'INCLUSION');
    if (errors.length === 0 && this.findDefinition(input.ownerType, namespace, input.key)) {
      error('key', `Key is in use for ${input.ownerType} metafields on the '${namespace}' namespace.`, 'TAKEN');
    }
    if (errors.length > 0) return { definition: null, userErrors: errors };
    const now = this.host.now();
    const definition: MetafieldDefinitionRecord = {
      __typename: 'MetafieldDefinition',
      id: this.host.nextId('MetafieldDefinition'),
      ownerType: input.ownerType as MetafieldOwnerType,
      namespace,
      key: input.key,
      name: input.name,
      description: input.description ?? null,
      type: input.type,
      createdAt: now,
      updatedAt: now,
    };
    this.definitions.set(definition.id, definition);
    this.definitionsByKey.set(definitionKey(definition.ownerType, namespace, definition.key), definition);
    return { definition, userErrors: [] };
  }
}
