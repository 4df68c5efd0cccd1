import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * One writer for the read model: no file of src/ outside src/inventory/read-model/ may INSERT,
 * UPDATE or DELETE `inventory_levels`, neither through Drizzle (`.update(inventoryLevels)`) nor
 * in raw SQL (`update ${inventoryLevels}`, `insert into inventory_levels`, …). Copies of these
 * statements in other domains drifted apart once already (the push mark); this keeps them in one
 * place. Reads are anyone's.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const src = join(root, 'src');
const WRITER_MODULE = 'src/inventory/read-model/';

const TABLE = String.raw`(?:\$\{\s*(?:\w+\.)?inventoryLevels\s*\}|"?inventory_levels"?)`;
const WRITES = [
  // Drizzle's query builder: db.update(inventoryLevels), tx.insert(schema.inventoryLevels), …
  new RegExp(String.raw`\.\s*(?:update|insert|delete)\s*\(\s*(?:\w+\.)?inventoryLevels\b`),
  // Raw SQL, in any case and across line breaks.
  new RegExp(String.raw`\b(?:update(?:\s+only)?|insert\s+into|delete\s+from|truncate(?:\s+table)?|merge\s+into)\s+${TABLE}(?![\w])`, 'i'),
];

/** Every statement in `text` that writes the read model, as `line: excerpt`. */
function writesIn(text: string): string[] {
  const found: string[] = [];
  for (const pattern of WRITES) {
    const global = new RegExp(pattern.source, `${pattern.flags}g`);
    for (const match of text.matchAll(global)) {
      const line = text.slice(0, match.index).split('\n').length;
      found.push(`${line}: ${match[0].replace(/\s+/g, ' ')}`);
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === '__generated__' ? [] : sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

describe('the read model has one writer', () => {
  it('recognises every way of writing the table (the detector itself)', () => {
    const forbidden = [
      'await tx.update(inventoryLevels).set({ reserved: 1 })',
      'await db.insert(schema.inventoryLevels).values(row)',
      'db.delete(inventoryLevels).where(x)',
      'sql`update ${inventoryLevels} set reserved = reserved + 1`',
      'sql`UPDATE inventory_levels SET pending_orders = 0`',
      'sql`insert into "inventory_levels" (shop) values (1)`',
      'sql`delete\n  from ${inventoryLevels} where shop = 1`',
    ];
    for (const text of forbidden) expect(writesIn(text), text).toHaveLength(1);
    const allowed = [
      'db.select().from(inventoryLevels)',
      'sql`select * from ${inventoryLevels} for update`',
      'sql`update inventory_levels_archive set x = 1`',
      'shopState.inventoryLevels.delete(key)',
    ];
    for (const text of allowed) expect(writesIn(text), text).toEqual([]);
  });

  it('finds the writer\u2019s own statements, so the scan below reads real code', () => {
    const writer = readFileSync(join(src, 'inventory/read-model/inventory-levels.writer.ts'), 'utf8');
    expect(writesIn(writer).length).toBeGreaterThan(10);
  });

  it('no file of src/ outside src/inventory/read-model/ inserts, updates or deletes inventory_levels', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(src)) {
      const path = relative(root, file).split('\\').join('/');
      if (path.startsWith(WRITER_MODULE)) continue;
      for (const write of writesIn(readFileSync(file, 'utf8'))) offenders.push(`${path}:${write}`);
    }
    expect(offenders, 'write through src/inventory/read-model/inventory-levels.writer.ts instead').toEqual([]);
  });
});
