import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerConsoleRoutes } from '../../src/http/console.routes.js';

describe('console routes', () => {
  const apps: FastifyInstance[] = [];
  const directories: string[] = [];

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  async function serve(build: boolean): Promise<FastifyInstance> {
    const directory = mkdtempSync(join(tmpdir(), 'console-dist-'));
    directories.push(directory);
    if (build) {
      mkdirSync(join(directory, 'assets'));
      writeFileSync(join(directory, 'index.html'), '<!doctype html><title>console</title>');
      writeFileSync(join(directory, 'assets', 'index-abc123.js'), 'export {};');
    }
    const app = Fastify();
    apps.push(app);
    await registerConsoleRoutes(app, `${directory}/`);
    return app;
  }

  it('serves the built console under /console/ with a same-origin content security policy', async () => {
    const app = await serve(true);
    const page = await app.inject({ url: '/console/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<title>console</title>');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['cache-control']).toBe('no-cache');
  });

  it('redirects /console to /console/ and caches content-hashed assets for good', async () => {
    const app = await serve(true);
    const redirect = await app.inject({ url: '/console' });
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('/console/');
    const asset = await app.inject({ url: '/console/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ url: '/console/assets/missing.js' })).statusCode).toBe(404);
  });

  it('says how to build the console when it is not built, and serves nothing else', async () => {
    const app = await serve(false);
    const answer = await app.inject({ url: '/console/' });
    expect(answer.statusCode).toBe(503);
    expect(answer.body).toContain('npm run build:console');
  });
});
