/**
 * Shopify's search syntax (shopify.dev/docs/api/usage/search-syntax) as the `query:` argument of
 * connections takes it: `field:value` terms, comparators `:>`, `:>=`, `:<`, `:<=`, quoted values,
 * a trailing `*` as prefix wildcard, implicit AND, `AND`/`OR`, `NOT` or `-` negation and
 * parentheses. A term on a field the resource does not support is ignored, as Shopify does, and
 * reported as a search warning.
 */

export type Comparator = ':' | '>' | '>=' | '<' | '<=';

export type SearchNode =
  | { kind: 'and'; items: SearchNode[] }
  | { kind: 'or'; items: SearchNode[] }
  | { kind: 'not'; item: SearchNode }
  | { kind: 'term'; field: string | null; comparator: Comparator; value: string; prefix: boolean };

export type FieldKind = 'string' | 'number' | 'date' | 'boolean' | 'id';

/** How a resource exposes one searchable field: its kind and how to read it from a record. */
export interface SearchField<T> {
  kind: FieldKind;
  /** A list of strings matches when any of them does (tags, the SKUs of an order's lines). */
  read: (record: T) => string | number | boolean | null | undefined | readonly string[];
}

export interface SearchWarning {
  field: string;
  message: string;
}

export interface CompiledSearch<T> {
  matches: (record: T) => boolean;
  warnings: SearchWarning[];
  /** The terms of the query, for resources that can answer some of them from an index. */
  root: SearchNode | null;
}

type Token = { type: 'lparen' | 'rparen' | 'and' | 'or' | 'not' } | { type: 'term'; raw: string; negated: boolean };

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const char = query[i]!;
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    if (char === '(') {
      tokens.push({ type: 'lparen' });
      i++;
      continue;
    }
    if (char === ')') {
      tokens.push({ type: 'rparen' });
      i++;
      continue;
    }
    let negated = false;
    if (char === '-' && i + 1 < query.length && !/\s/.test(query[i + 1]!)) {
      negated = true;
      i++;
    }
    let raw = '';
    while (i < query.length && !/\s/.test(query[i]!) && query[i] !== ')' && !(query[i] === '(' && raw === '')) {
      const current = query[i]!;
      if (current === '"' || current === "'") {
        const end = query.indexOf(current, i + 1);
        const stop = end === -1 ? query.length : end;
        raw += current + query.slice(i + 1, stop) + current;
        i = stop + 1;
        continue;
      }
      if (current === '\\' && i + 1 < query.length) {
        raw += query[i + 1];
        i += 2;
        continue;
      }
      raw += current;
      i++;
    }
    if (!negated && raw === 'AND') tokens.push({ type: 'and' });
    else if (!negated && raw === 'OR') tokens.push({ type: 'or' });
    else if (!negated && raw === 'NOT') tokens.push({ type: 'not' });
    else if (raw !== '') tokens.push({ type: 'term', raw, negated });
  }
  return tokens;
}

function unquote(value: string): string {
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) return value.slice(1, -1);
  return value.replace(/^["']|["']$/g, '');
}

function parseTerm(raw: string): SearchNode {
  const colon = raw.indexOf(':');
  const firstQuote = raw.search(/["']/);
  if (colon <= 0 || (firstQuote !== -1 && firstQuote < colon)) {
    const prefix = raw.endsWith('*');
    return { kind: 'term', field: null, comparator: ':', value: unquote(prefix ? raw.slice(0, -1) : raw), prefix };
  }
  const field = raw.slice(0, colon).toLowerCase();
  let rest = raw.slice(colon + 1);
  let comparator: Comparator = ':';
  for (const candidate of ['>=', '<=', '>', '<'] as const) {
    if (rest.startsWith(candidate)) {
      comparator = candidate;
      rest = rest.slice(candidate.length);
      break;
    }
  }
  const quoted = /^["']/.test(rest);
  const prefix = !quoted && rest.endsWith('*');
  return { kind: 'term', field, comparator, value: unquote(prefix ? rest.slice(0, -1) : rest), prefix };
}

/** Parses a query string; an empty or blank query gives null (match everything). */
export function parseSearchQuery(query: string | null | undefined): SearchNode | null {
  if (!query || !query.trim()) return null;
  const tokens = tokenize(query);
  let position = 0;

  const parseOr = (): SearchNode | null => {
    const items: SearchNode[] = [];
    const first = parseAnd();
    if (first) items.push(first);
    while (tokens[position]?.type === 'or') {
      position++;
      const next = parseAnd();
      if (next) items.push(next);
    }
    if (items.length === 0) return null;
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  };

  const parseAnd = (): SearchNode | null => {
    const items: SearchNode[] = [];
    for (;;) {
      const token = tokens[position];
      if (!token || token.type === 'rparen' || token.type === 'or') break;
      if (token.type === 'and') {
        position++;
        continue;
      }
      const unary = parseUnary();
      if (unary) items.push(unary);
    }
    if (items.length === 0) return null;
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  };

  const parseUnary = (): SearchNode | null => {
    const token = tokens[position]!;
    if (token.type === 'not') {
      position++;
      const inner = parseUnary();
      return inner ? { kind: 'not', item: inner } : null;
    }
    if (token.type === 'lparen') {
      position++;
      const inner = parseOr();
      if (tokens[position]?.type === 'rparen') position++;
      return inner;
    }
    position++;
    if (token.type !== 'term') return null;
    const term = parseTerm(token.raw);
    return token.negated ? { kind: 'not', item: term } : term;
  };

  const root = parseOr();
  return root;
}

function parseDate(value: string): number | null {
  const trimmed = value.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) return Date.parse(`${trimmed}T00:00:00Z`);
  const parsed = Date.parse(trimmed);
  return Number.isNaN(parsed) ? null : parsed;
}

function compare(left: number, comparator: Comparator, right: number): boolean {
  switch (comparator) {
    case ':':
      return left === right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
  }
}

/**
 * Compiles a query for one resource. `fields` maps Shopify's search field names to readers;
 * `defaultFields` are searched by free text (a term without a field).
 */
export function compileSearch<T>(
  query: string | null | undefined,
  fields: Record<string, SearchField<T>>,
  defaultFields: string[] = [],
): CompiledSearch<T> {
  const root = parseSearchQuery(query);
  const warnings: SearchWarning[] = [];
  const seenWarnings = new Set<string>();

  const termMatcher = (term: Extract<SearchNode, { kind: 'term' }>): ((record: T) => boolean) => {
    const names = term.field === null ? defaultFields : [term.field];
    const definitions = names.map((name) => fields[name]).filter((definition): definition is SearchField<T> => definition !== undefined);
    if (definitions.length === 0) {
      if (term.field !== null && !seenWarnings.has(term.field)) {
        seenWarnings.add(term.field);
        warnings.push({ field: term.field, message: 'Invalid search field for this query.' });
      }
      return () => true;
    }
    const matchers = definitions.map((definition) => valueMatcher(definition, term));
    return (record) => matchers.some((matcher) => matcher(record));
  };

  const valueMatcher = (definition: SearchField<T>, term: Extract<SearchNode, { kind: 'term' }>): ((record: T) => boolean) => {
    const wanted = term.value;
    switch (definition.kind) {
      case 'string': {
        const lower = wanted.toLowerCase();
        const one = (text: string) => {
          if (term.comparator !== ':') return compareText(text, term.comparator, lower);
          return term.prefix ? text.startsWith(lower) : text === lower;
        };
        return (record) => {
          const value = definition.read(record);
          if (value === null || value === undefined) return false;
          if (Array.isArray(value)) return value.some((entry: string) => one(entry.toLowerCase()));
          return one(String(value).toLowerCase());
        };
      }
      case 'boolean': {
        const target = wanted.toLowerCase() === 'true';
        return (record) => definition.read(record) === target;
      }
      case 'number':
      case 'id': {
        const gidMatch = /\/(\d+)(\?.*)?$/.exec(wanted);
        const target = Number(definition.kind === 'id' && gidMatch ? gidMatch[1] : wanted);
        if (!Number.isFinite(target)) return () => false;
        return (record) => {
          const value = definition.read(record);
          return typeof value === 'number' && compare(value, term.comparator, target);
        };
      }
      case 'date': {
        const target = parseDate(wanted);
        if (target === null) return () => false;
        // Shopify keeps these timestamps to the second: compare at that precision.
        const targetSeconds = Math.floor(target / 1000);
        return (record) => {
          const value = definition.read(record);
          if (typeof value !== 'number') return false;
          return compare(Math.floor(value / 1000), term.comparator, targetSeconds);
        };
      }
    }
  };

  const build = (node: SearchNode): ((record: T) => boolean) => {
    switch (node.kind) {
      case 'term':
        return termMatcher(node);
      case 'not': {
        const inner = build(node.item);
        return (record) => !inner(record);
      }
      case 'and': {
        const items = node.items.map(build);
        return (record) => items.every((item) => item(record));
      }
      case 'or': {
        const items = node.items.map(build);
        return (record) => items.some((item) => item(record));
      }
    }
  };

  const matches = root ? build(root) : () => true;
  return { matches, warnings, root };
}

function compareText(left: string, comparator: Comparator, right: string): boolean {
  const order = left < right ? -1 : left > right ? 1 : 0;
  return compare(order, comparator, 0);
}

/**
 * The values of `field:value` terms that every match must satisfy (a top-level term, or one
 * alternative of a top-level OR made only of such terms). Lets a resource answer `sku:A OR sku:B`
 * from an index instead of scanning; null when the query cannot be narrowed that way.
 */
export function requiredFieldValues(root: SearchNode | null, field: string): { value: string; prefix: boolean }[] | null {
  if (!root) return null;
  const exact = (node: SearchNode) => node.kind === 'term' && node.field === field && node.comparator === ':';
  if (exact(root)) {
    const term = root as Extract<SearchNode, { kind: 'term' }>;
    return [{ value: term.value, prefix: term.prefix }];
  }
  if (root.kind === 'or' && root.items.every(exact)) {
    return root.items.map((item) => {
      const term = item as Extract<SearchNode, { kind: 'term' }>;
      return { value: term.value, prefix: term.prefix };
    });
  }
  if (root.kind === 'and') {
    for (const item of root.items) {
      const narrowed = requiredFieldValues(item, field);
      if (narrowed) return narrowed;
    }
  }
  return null;
}
