// Lint rules, including the dependency rules of the house style:
// - one way inside a domain: entry points (resolvers, webhook handlers, jobs, HTTP) -> services and
//   loaders -> adapter interfaces and repositories -> shared code;
// - a domain never imports a peer domain, except the inventory domain's published port
//   (src/inventory/inventory.port.ts) and its read model (src/inventory/read-model/**): peers get
//   each other's services as narrow ports through their module options, wired in src/gateway.ts;
// - adapters (src/erp, src/shopify, src/db, src/simulators) import no domain, and src/shared
//   imports nothing of the project but itself.
// Implementations (ERP connectors, simulators, the Admin API client) are chosen in the
// composition roots (src/gateway.ts, src/cli.ts and its commands) only.
import { existsSync, readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The domains: every folder of src/ with a `<folder>.module.ts` (its DomainModule), so a new
 * domain is covered by the rules the moment its module exists.
 */
const srcFolder = new URL('./src/', import.meta.url);
export const domainFolders = readdirSync(srcFolder, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(new URL(`${entry.name}/${entry.name}.module.ts`, srcFolder)))
  .map((entry) => entry.name)
  .sort();

const implementations = [
  {
    group: ['**/erp/tryton/**', '**/erp/simulated/**', '**/erp/odoo/**'],
    message: 'ERP connectors are chosen in the composition roots (src/gateway.ts, src/cli.ts); depend on src/erp/erp-connector.ts.',
  },
  {
    group: ['**/simulators/**'],
    message: 'Simulators are wired in the composition roots only.',
  },
];
const generatedShopify = {
  group: ['**/shopify/__generated__/**'],
  message: 'Generated Shopify types never leave src/shopify/.',
};
const entryPoints = {
  group: ['**/*.resolvers*', '**/http/**', '**/*.job*', '**/*.webhooks*', '**/main*', '**/cli*'],
  message: 'Dependencies point one way: services, repositories and adapters never import entry points.',
};
const anyDomain = {
  group: [...domainFolders.map((domain) => `**/${domain}/**`), '**/scheduler/**', '**/gateway*', '**/domain-module*'],
  message: 'Adapters do not depend on domain code or on the composition root.',
};
const outsideShared = {
  group: ['../**', '!../shared/**'],
  message: 'src/shared imports nothing of the project but itself.',
};
/** What a file of `domain` may not import of its peers: anything but the inventory port and read model. */
function peerDomains(domain) {
  const group = domainFolders.filter((peer) => peer !== domain && peer !== 'inventory').map((peer) => `**/${peer}/**`);
  // Spelled as files and subfolders, not `inventory/**`: a folder excluded whole cannot have a
  // part of it (read-model) allowed again.
  if (domain !== 'inventory') group.push('**/inventory/*.*', '**/inventory/*/**', '!**/inventory/inventory.port.js', '!**/inventory/read-model/**');
  return {
    group,
    message: `A domain does not import a peer domain: take what you need as a port in the module's options (wired in src/gateway.ts); of inventory, only inventory.port.ts and read-model/** are public.`,
  };
}
const roleFiles = ['*.service.ts', '*.repository.ts', '*.loaders.ts', '*.models.ts', '*.errors.ts'];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'console/dist/', '.data/', '.tryton/', '**/__generated__/**', 'drizzle/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', Response: 'readonly', Request: 'readonly', Headers: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', performance: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', setImmediate: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/main.ts', 'src/gateway.ts', 'src/cli.ts', 'src/cli/**', 'src/demo/**', 'src/shopify/**', 'src/erp/**', 'src/simulators/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...implementations, generatedShopify] }] },
  },
  {
    files: ['src/**/*.service.ts', 'src/**/*.repository.ts', 'src/**/*.loaders.ts', 'src/**/*.models.ts', 'src/**/*.errors.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...implementations, generatedShopify, entryPoints] }] },
  },
  {
    files: ['src/shopify/**/*.ts', 'src/erp/**/*.ts', 'src/db/**/*.ts', 'src/config.ts', 'src/logger.ts'],
    ignores: ['src/db/schema/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [anyDomain, entryPoints] }] },
  },
  {
    // The simulators have resolvers and routes of their own (the simulated Admin API).
    files: ['src/simulators/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [anyDomain] }] },
  },
  {
    files: ['src/erp/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...implementations, anyDomain, entryPoints] }] },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [outsideShared] }] },
  },
  ...domainFolders.flatMap((domain) => [
    {
      files: [`src/${domain}/**/*.ts`],
      rules: { 'no-restricted-imports': ['error', { patterns: [...implementations, generatedShopify, peerDomains(domain)] }] },
    },
    {
      files: roleFiles.map((role) => `src/${domain}/**/${role}`),
      rules: { 'no-restricted-imports': ['error', { patterns: [...implementations, generatedShopify, entryPoints, peerDomains(domain)] }] },
    },
  ]),
);
