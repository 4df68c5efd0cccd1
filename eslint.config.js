// Lint rules, including the one-way dependency rule of the house style:
// entry points -> services/loaders -> adapter interfaces and repositories -> shared code.
// Implementations (ERP connectors, simulators, the Admin API client) are chosen in the
// composition roots (src/main.ts, src/cli.ts) only.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const implementations = [
  {
    group: ['**/erp/tryton/**', '**/erp/simulated/**', '**/erp/odoo/**'],
    message: 'ERP connectors are chosen in src/main.ts or src/cli.ts; depend on src/erp/erp-connector.ts.',
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
const domains = {
  group: ['**/inventory/**', '**/orders/**', '**/reservations/**', '**/sync/**', '**/mapping/**', '**/scheduler/**', '**/auth/**'],
  message: 'Adapters and shared code do not depend on domain code.',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', '.tryton/', '**/__generated__/**', 'drizzle/'] },
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
    files: ['src/shopify/**/*.ts', 'src/erp/**/*.ts', 'src/db/**/*.ts', 'src/shared/**/*.ts', 'src/config.ts', 'src/logger.ts'],
    ignores: ['src/db/schema/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [domains, entryPoints] }] },
  },
  {
    files: ['src/erp/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...implementations, domains, entryPoints] }] },
  },
);
