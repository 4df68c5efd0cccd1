import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('runs the demo with no variables at all', () => {
    const config = loadConfig({});
    expect(config.port).toBe(4000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe('./.data');
    expect(config.erp.connector).toBe('simulated');
    expect(config.shopify.apiVersion).toBe('2026-10');
    expect(config.syncIntervalSeconds).toBe(60);
    expect(config.reconcileIntervalSeconds).toBe(86_400);
    expect(config.scheduler).toBe(true);
    expect(config.logLevel).toBe('info');
  });

  it('reports every problem at once, naming each variable', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x',
      ERP_CONNECTOR: 'tryton',
      SCHEDULER: 'maybe',
      ENCRYPTION_KEY: 'c2hvcnQ=',
      SHOPIFY_SHOP: 'acme.myshopify.com',
    });
    const named = problems.map((p) => p.split(':')[0]);
    expect(named).toEqual(
      expect.arrayContaining([
        'PORT',
        'DATABASE_URL',
        'SCHEDULER',
        'ENCRYPTION_KEY',
        'ERP_URL',
        'ERP_DATABASE',
        'ERP_USER',
        'ERP_PASSWORD',
        'SHOPIFY_ACCESS_TOKEN',
        'SHOPIFY_API_SECRET',
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(10);
  });

  it('reads a secret from NAME_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
    writeFileSync(join(dir, 'token'), 'shpat_secret\n');
    writeFileSync(join(dir, 'secret'), 'hush');
    const config = loadConfig({
      SHOPIFY_SHOP: 'acme.myshopify.com',
      // A store on this machine (a simulator): the simulated ERP is allowed beside it.
      SHOPIFY_ADMIN_URL: 'http://127.0.0.1:9100',
      SHOPIFY_ACCESS_TOKEN_FILE: join(dir, 'token'),
      SHOPIFY_API_SECRET_FILE: join(dir, 'secret'),
    });
    expect(config.shopify.accessToken).toBe('shpat_secret');
    expect(config.shopify.apiSecret).toBe('hush');
  });

  it('rejects a missing secret file and a variable set twice', () => {
    const problems = problemsOf({ ERP_PASSWORD_FILE: '/nonexistent/pw', LOG_LEVEL: 'info', LOG_LEVEL_FILE: '/etc/hostname' });
    expect(problems.some((p) => p.startsWith('ERP_PASSWORD_FILE: cannot read'))).toBe(true);
    expect(problems.some((p) => p.startsWith('LOG_LEVEL: set both'))).toBe(true);
  });

  it('ignores other programs\u2019 *_FILE variables', () => {
    expect(() => loadConfig({ TF_CLI_CONFIG_FILE: '/nonexistent' })).not.toThrow();
  });

  it('decodes a 32-byte base64 encryption key', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ ENCRYPTION_KEY: key }).encryptionKey?.length).toBe(32);
  });

  it('refuses a real store with the simulated ERP (the default), naming the way out', () => {
    const store = { SHOPIFY_SHOP: 'acme.myshopify.com', SHOPIFY_ACCESS_TOKEN: 'shpat_x', SHOPIFY_API_SECRET: 'hush' };
    const problems = problemsOf(store);
    expect(problems).toEqual([expect.stringMatching(/^ERP_CONNECTOR: is simulated \(the default\) while SHOPIFY_SHOP names a real store.*ERP_CONNECTOR=tryton/)]);
    expect(problemsOf({ ...store, ERP_CONNECTOR: 'simulated' })).toEqual([expect.stringMatching(/^ERP_CONNECTOR: is simulated while/)]);
    // The demo stays possible, on purpose.
    expect(loadConfig({ ...store, DEMO: '1' }).demo).toBe(true);
  });

  it('never runs the demo with a real ERP', () => {
    const problems = problemsOf({ DEMO: '1', ERP_CONNECTOR: 'tryton', ERP_URL: 'http://erp:8000', ERP_DATABASE: 'd', ERP_USER: 'u', ERP_PASSWORD: 'p' });
    expect(problems).toEqual([expect.stringMatching(/^DEMO: /)]);
  });

  it('needs the client id and an encryption key when the gateway obtains its own token, and PUBLIC_URL for the install', () => {
    const erp = { ERP_CONNECTOR: 'tryton', ERP_URL: 'http://erp:8000', ERP_DATABASE: 'd', ERP_USER: 'u', ERP_PASSWORD: 'p' };
    const named = (env: Record<string, string>) => problemsOf({ ...erp, SHOPIFY_SHOP: 'acme.myshopify.com', SHOPIFY_API_SECRET: 'hush', ...env }).map((p) => p.split(':')[0]);
    expect(named({ SHOPIFY_GRANT: 'client_credentials' }).sort()).toEqual(['ENCRYPTION_KEY', 'SHOPIFY_API_KEY']);
    expect(named({ SHOPIFY_GRANT: 'authorization_code', SHOPIFY_API_KEY: 'id', ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') })).toEqual(['PUBLIC_URL']);
    const config = loadConfig({ ...erp, SHOPIFY_SHOP: 'acme.myshopify.com', SHOPIFY_API_SECRET: 'hush', SHOPIFY_API_KEY: 'id', ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') });
    expect(config.shopify.grant).toBe('client_credentials');
  });
});
