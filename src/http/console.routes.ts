import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where `npm run build:console` writes the console (console/dist at the repository root). */
export const consoleDistDirectory = fileURLToPath(new URL('../../console/dist/', import.meta.url));

/**
 * The operations console at /console: static files only. It talks to the public /graphql API with
 * the operator's key like any client, so these routes need no key and expose no data. The policy
 * keeps every script, style and request on this origin (no CDN: it works offline on loopback) and
 * the console out of other sites' frames.
 */
export async function registerConsoleRoutes(app: FastifyInstance, directory = consoleDistDirectory): Promise<void> {
  const securityHeaders = {
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  if (!existsSync(`${directory}index.html`)) {
    // A gateway started from sources without the built console still serves the API; say how to get the console.
    app.get('/console*', async (_request, reply) =>
      reply.code(503).type('text/plain').send('The console is not built: run `npm run build:console` and restart the gateway.'),
    );
    return;
  }
  app.get('/console', async (_request, reply) => reply.redirect('/console/'));
  await app.register(fastifyStatic, {
    root: directory,
    prefix: '/console/',
    index: 'index.html',
    wildcard: true,
    decorateReply: false,
    // Our own Cache-Control below (the plugin's would override it with max-age=0 for every file).
    cacheControl: false,
    setHeaders: (response, path) => {
      for (const [name, value] of Object.entries(securityHeaders)) response.setHeader(name, value);
      // Vite names assets by content hash: cache them for a year; index.html is always revalidated.
      response.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
