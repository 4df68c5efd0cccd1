import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { simulateShopifyCommand } from '../../src/cli/simulate-shopify.command.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

describe('simulate-shopify command', () => {
  it('serves a seeded store, prints how to reach it, and stops on the stop signal', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'simulate-shopify-'));
    const seedFile = join(directory, 'seed.json');
    await writeFile(seedFile, JSON.stringify({ locations: [{ key: 'WH', name: 'Warehouse' }], products: [{ title: 'Chair', variants: [{ sku: 'CHAIR', levels: { WH: 5 } }] }] }));
    const stdout = capture();
    const stderr = capture();
    let stop: () => void = () => {};
    const stopSignal = new Promise<void>((resolve) => (stop = resolve));
    const exit = simulateShopifyCommand.run(['--port', '0', '--plan', 'plus', '--seed', seedFile, '--token', 'shpat_cli_test', '--secret', 'shpss_cli_test'], {
      stdout: stdout.stream,
      stderr: stderr.stream,
      env: { LOG_LEVEL: 'silent' },
      stopSignal,
    });
    await expect.poll(() => stdout.text(), { timeout: 10_000 }).toContain('SHOPIFY_API_SECRET=shpss_cli_test');
    expect(stdout.text()).toContain('SHOPIFY_ACCESS_TOKEN=shpat_cli_test');
    expect(stdout.text()).toContain('1 locations, 1 variants');
    const adminUrl = /SHOPIFY_ADMIN_URL=(\S+)/.exec(stdout.text())![1]!;
    const response = await fetch(`${adminUrl}/admin/api/2026-10/graphql.json`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Shopify-Access-Token': 'shpat_cli_test' },
      body: JSON.stringify({ query: '{ productVariants(first: 5) { nodes { sku } } }' }),
    });
    const body = (await response.json()) as { data: unknown; extensions: { cost: { throttleStatus: { maximumAvailable: number } } } };
    expect(body.data).toEqual({ productVariants: { nodes: [{ sku: 'CHAIR' }] } });
    expect(body.extensions.cost.throttleStatus.maximumAvailable).toBe(20000);
    stop();
    expect(await exit).toBe(0);
  });

  it('names every bad option at once and exits 2', async () => {
    const stdout = capture();
    const stderr = capture();
    const code = await simulateShopifyCommand.run(['--plan', 'gold', '--port', '99999', '--seed', '/does/not/exist.json'], {
      stdout: stdout.stream,
      stderr: stderr.stream,
      env: {},
      stopSignal: new Promise(() => {}),
    });
    expect(code).toBe(2);
    expect(stderr.text()).toContain('--plan must be one of standard, advanced, plus, enterprise');
    expect(stderr.text()).toContain('--port');
    expect(stderr.text()).toContain('/does/not/exist.json');
  });
});
