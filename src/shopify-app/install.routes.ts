import type { FastifyInstance, FastifyReply } from 'fastify';
import { CALLBACK_PATH, INSTALL_PATH, type InstallRefusal, type ShopifyInstallService } from './install.service.js';

/**
 * `GET /auth/shopify/install?shop=` and `GET /auth/shopify/callback`: the merchant's browser
 * walks through these, so every answer is a small HTML page (a redirect on success). Each
 * refusal has its own status (400 for a malformed request, 403 for one that fails a check) and
 * says what to do.
 */
function page(title: string, body: string): string {
  const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1><p>${escape(body)}</p></body></html>`;
}

function sendRefusal(reply: FastifyReply, refusal: InstallRefusal) {
  return reply
    .code(refusal.status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(page(`Install refused (${refusal.code})`, refusal.message));
}

export function shopifyInstallRoutes(service: ShopifyInstallService) {
  return async function register(app: FastifyInstance): Promise<void> {
    app.get(INSTALL_PATH, async (request, reply) => {
      const shop = (request.query as Record<string, unknown>).shop;
      const result = await service.beginInstall(typeof shop === 'string' ? shop : undefined);
      if (!result.ok) return sendRefusal(reply, result);
      return reply.code(302).header('cache-control', 'no-store').header('location', result.redirectTo).send();
    });

    app.get(CALLBACK_PATH, async (request, reply) => {
      const raw = request.raw.url ?? '';
      const query = new URLSearchParams(raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : '');
      const result = await service.completeInstall(query);
      if (!result.ok) return sendRefusal(reply, result);
      const note = result.missingScopes.length > 0 ? ` Shopify did not grant ${result.missingScopes.join(', ')}: run \`npm run cli -- doctor\` to see what that stops.` : '';
      return reply
        .code(200)
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(page('Stockbridge is installed', `${result.shop} is connected (scopes: ${result.scopes.join(', ')}).${note}`));
    });
  };
}
