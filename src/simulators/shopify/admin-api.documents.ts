import { Kind, parse, specifiedRules, validate, type DocumentNode, type GraphQLError, type FragmentDefinitionNode, type GraphQLSchema, type OperationDefinitionNode, type ValidationRule } from 'graphql';

/**
 * Admin API documents parsed and validated against the real schema once per query text, with
 * graphql-ruby's error codes (what Shopify answers with) on validation errors. A client sends
 * the same few documents over and over, so the cache keeps the analysis of the latest 2,000.
 */

export interface CachedDocument {
  document: DocumentNode | null;
  errors: Record<string, unknown>[];
  fragments: Map<string, FragmentDefinitionNode>;
  operations: OperationDefinitionNode[];
}

const DOCUMENT_CACHE_LIMIT = 2_000;

/** graphql-ruby's error codes (what Shopify answers with) for graphql-js's validation rules. */
const VALIDATION_CODES: Record<string, string> = {
  ExecutableDefinitionsRule: 'definitionNotExecutable',
  UniqueOperationNamesRule: 'operationNotUnique',
  LoneAnonymousOperationRule: 'anonymousOperationNotAlone',
  SingleFieldSubscriptionsRule: 'subscriptionNotSingleField',
  KnownTypeNamesRule: 'undefinedType',
  FragmentsOnCompositeTypesRule: 'fragmentOnNonCompositeType',
  VariablesAreInputTypesRule: 'variableRequiresValidType',
  ScalarLeafsRule: 'selectionMismatch',
  FieldsOnCorrectTypeRule: 'undefinedField',
  UniqueFragmentNamesRule: 'fragmentNotUnique',
  KnownFragmentNamesRule: 'undefinedFragment',
  NoUnusedFragmentsRule: 'useAndDefineFragment',
  PossibleFragmentSpreadsRule: 'cannotSpreadFragment',
  NoFragmentCyclesRule: 'infiniteLoop',
  UniqueVariableNamesRule: 'variableNotUnique',
  NoUndefinedVariablesRule: 'variableNotDefined',
  NoUnusedVariablesRule: 'variableNotUsed',
  KnownDirectivesRule: 'undefinedDirective',
  UniqueDirectivesPerLocationRule: 'directiveNotUnique',
  KnownArgumentNamesRule: 'argumentNotAccepted',
  UniqueArgumentNamesRule: 'argumentNotUnique',
  ValuesOfCorrectTypeRule: 'argumentLiteralsIncompatible',
  ProvidedRequiredArgumentsRule: 'missingRequiredArguments',
  VariablesInAllowedPositionRule: 'variableMismatch',
  OverlappingFieldsCanBeMergedRule: 'fieldConflict',
  UniqueInputFieldNamesRule: 'inputFieldNotUnique',
};

function errorKey(error: GraphQLError): string {
  return `${error.message}@${JSON.stringify(error.locations ?? [])}`;
}

export class AdminDocuments {
  private readonly documents = new Map<string, CachedDocument>();

  constructor(private readonly schema: GraphQLSchema) {}

  documentFor(query: string): CachedDocument {
    const existing = this.documents.get(query);
    if (existing) return existing;
    const cached = this.analyse(query);
    this.documents.set(query, cached);
    if (this.documents.size > DOCUMENT_CACHE_LIMIT) {
      const oldest = this.documents.keys().next().value;
      if (oldest !== undefined) this.documents.delete(oldest);
    }
    return cached;
  }

  private analyse(query: string): CachedDocument {
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      const graphqlError = error as GraphQLError;
      return {
        document: null,
        errors: [{ message: graphqlError.message, locations: graphqlError.locations ?? [], extensions: { code: 'parseError' } }],
        fragments: new Map(),
        operations: [],
      };
    }
    const schema = this.schema;
    const errors = validate(schema, document);
    if (errors.length > 0) {
      // Name each error after the rule that raised it, as Shopify's graphql-ruby codes do.
      const codes = new Map<string, string>();
      for (const rule of specifiedRules) {
        const ruleName = (rule as ValidationRule & { name: string }).name;
        for (const error of validate(schema, document, [rule])) codes.set(errorKey(error), VALIDATION_CODES[ruleName] ?? 'validationError');
      }
      return {
        document: null,
        errors: errors.map((error) => ({ message: error.message, locations: error.locations ?? [], extensions: { code: codes.get(errorKey(error)) ?? 'validationError' } })),
        fragments: new Map(),
        operations: [],
      };
    }
    const fragments = new Map<string, FragmentDefinitionNode>();
    const operations: OperationDefinitionNode[] = [];
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
      if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
    }
    return { document, errors: [], fragments, operations };
  }
}
