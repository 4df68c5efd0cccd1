/**
 * `npm run bench -- [name ...]`: runs the named benchmarks (file names in bench/ without
 * `.bench.ts`), or, with no name, every benchmark whose outside servers are available
 * (PostgreSQL benchmarks need DATABASE_URL, Tryton ones ERP_URL). Each prints its own figures.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const folder = fileURLToPath(new URL('.', import.meta.url));
const all = readdirSync(folder)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort();

/** Benchmarks that need a server the machine may not have running. */
const needs: Record<string, string> = { 'erp-stock': 'ERP_URL', reservations: 'DATABASE_URL', webhooks: 'DATABASE_URL' };

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !all.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}\navailable: ${all.join(', ')}\n`);
  process.exit(2);
}
const chosen = requested.length > 0 ? requested : all.filter((name) => !needs[name] || process.env[needs[name]!]);
let failed = 0;
for (const name of chosen) {
  process.stdout.write(`\n### ${name}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', `${folder}${name}.bench.ts`], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
for (const name of all.filter((n) => !chosen.includes(n))) {
  process.stdout.write(`\n(skipped ${name}: set ${needs[name]} to run it)\n`);
}
process.exit(failed > 0 ? 1 : 0);
