import type { IncomingMessage, ServerResponse } from 'node:http';
import { z, ZodError } from 'zod';
import { isAppError, ValidationError } from '../../shared/errors.js';
import { readBody } from './http-body.js';
import type { BulkOperations } from './bulk-operations.js';
import { shopSeedSchema } from './seed.schema.js';
import type { SimulatorControl } from './simulator-control.js';

/**
 * The control API over HTTP, under `/_simulator/`, JSON in and out: the same operations as
 * `simulator.state` for people and programs outside the process (the demo, a staging ERP, a
 * shell). Bodies are checked with zod; errors answer `{ error: { code, message, details } }`.
 * It has no authentication: the simulator is for loopback and test networks only.
 */

const ref = z.union([z.string().min(1), z.number().int().positive()]);
const rate = z.number().min(0).max(1);

const placeOrderBody = z
  .object({
    lines: z
      .array(
        z
          .object({
            sku: z.string().min(1).optional(),
            variantId: ref.optional(),
            inventoryItemId: ref.optional(),
            quantity: z.number().int().min(1),
            price: z.union([z.string(), z.number()]).optional(),
            location: ref.optional(),
          })
          .strict()
          .refine((line) => line.sku !== undefined || line.variantId !== undefined || line.inventoryItemId !== undefined, 'each line needs sku, variantId or inventoryItemId'),
      )
      .min(1),
    location: ref.optional(),
    email: z.string().nullable().optional(),
    customer: z
      .object({ firstName: z.string().nullable().optional(), lastName: z.string().nullable().optional(), email: z.string().nullable().optional(), phone: z.string().nullable().optional() })
      .nullable()
      .optional(),
    financialStatus: z.enum(['AUTHORIZED', 'PAID', 'PENDING', 'PARTIALLY_PAID']).optional(),
    test: z.boolean().optional(),
    tags: z.array(z.string()).optional(),
    note: z.string().nullable().optional(),
    sourceName: z.string().optional(),
    poNumber: z.string().nullable().optional(),
  })
  .strict();

const cancelBody = z
  .object({
    reason: z.enum(['CUSTOMER', 'DECLINED', 'FRAUD', 'INVENTORY', 'OTHER', 'STAFF']).optional(),
    restock: z.boolean().optional(),
    staffNote: z.string().nullable().optional(),
  })
  .strict();

const refundBody = z
  .object({
    lines: z
      .array(
        z
          .object({ lineItemId: ref.optional(), sku: z.string().optional(), quantity: z.number().int().min(1), restockType: z.enum(['NO_RESTOCK', 'CANCEL', 'RETURN']).optional() })
          .strict(),
      )
      .min(1),
    note: z.string().nullable().optional(),
  })
  .strict();

const fulfillBody = z
  .object({
    lines: z
      .array(
        z
          .object({ lineItemId: ref.optional(), sku: z.string().optional(), quantity: z.number().int().min(1) })
          .strict()
          .refine((line) => line.sku !== undefined || line.lineItemId !== undefined, 'each line needs lineItemId or sku'),
      )
      .min(1)
      .optional(),
    tracking: z.object({ company: z.string().nullable().optional(), number: z.string().nullable().optional(), url: z.string().nullable().optional() }).strict().nullable().optional(),
    notifyCustomer: z.boolean().optional(),
  })
  .strict();

const setQuantityBody = z
  .object({
    inventoryItemId: ref.optional(),
    sku: z.string().optional(),
    location: ref,
    name: z.enum(['available', 'on_hand']).optional(),
    quantity: z.number().int(),
  })
  .strict()
  .refine((body) => body.sku !== undefined || body.inventoryItemId !== undefined, 'name the item by sku or inventoryItemId');

const adminFaultsBody = z
  .object({
    http429Rate: rate.optional(),
    http503Rate: rate.optional(),
    http500Rate: rate.optional(),
    retryAfterSeconds: z.number().min(0).optional(),
    latencyMs: z.number().int().min(0).max(60_000).optional(),
    dropRate: rate.optional(),
    dropAfterExecuteRate: rate.optional(),
    script: z.array(z.enum(['http429', 'http503', 'http500', 'drop', 'dropAfterExecute', 'none'])).optional(),
  })
  .strict();

const webhookFaultsBody = z
  .object({ dropRate: rate.optional(), dropTopics: z.array(z.string()).optional(), duplicateRate: rate.optional(), reorderRate: rate.optional(), reorderDelayMs: z.number().min(0).optional(), delayMs: z.number().min(0).optional() })
  .strict();

const faultsBody = z.object({ admin: adminFaultsBody.optional(), webhooks: webhookFaultsBody.optional() }).strict();

const planBody = z
  .object({
    plan: z.union([
      z.enum(['standard', 'advanced', 'plus', 'enterprise']),
      z.object({ name: z.string().default('custom'), maximumAvailable: z.number().positive(), restoreRate: z.number().positive() }).strict(),
    ]),
  })
  .strict();

const bucketBody = z.object({ currentlyAvailable: z.number().min(0), token: z.string().optional() }).strict();

const timeScaleBody = z.object({ timeScale: z.number().positive() }).strict();

type Handler = (input: { params: string[]; query: URLSearchParams; body: () => Promise<unknown> }) => unknown | Promise<unknown>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
  status?: number;
}

export function createControlRoutes(control: SimulatorControl, bulk: () => BulkOperations): (request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams) => Promise<void> {
  const optional = (query: URLSearchParams, name: string) => query.get(name) ?? undefined;
  const routes: Route[] = [
    { method: 'GET', pattern: /^\/health$/, handler: () => ({ ok: true }) },
    { method: 'POST', pattern: /^\/seed$/, handler: async ({ body }) => control.seed(shopSeedSchema.parse(await body())), status: 201 },
    {
      method: 'GET',
      pattern: /^\/levels$/,
      handler: ({ query }) => control.levels({ sku: optional(query, 'sku'), inventoryItemId: optional(query, 'inventoryItemId'), location: optional(query, 'location') }),
    },
    { method: 'POST', pattern: /^\/levels$/, handler: async ({ body }) => control.setQuantity(setQuantityBody.parse(await body())) },
    { method: 'GET', pattern: /^\/orders$/, handler: () => control.orders() },
    { method: 'POST', pattern: /^\/orders$/, handler: async ({ body }) => control.placeOrder(placeOrderBody.parse(await body())) },
    { method: 'GET', pattern: /^\/orders\/([^/]+)$/, handler: ({ params }) => control.order(decodeURIComponent(params[0]!)) },
    { method: 'POST', pattern: /^\/orders\/([^/]+)\/cancel$/, handler: async ({ params, body }) => control.cancelOrder(decodeURIComponent(params[0]!), cancelBody.parse((await body()) ?? {})) },
    { method: 'POST', pattern: /^\/orders\/([^/]+)\/refund$/, handler: async ({ params, body }) => control.refundOrder(decodeURIComponent(params[0]!), refundBody.parse(await body())) },
    { method: 'POST', pattern: /^\/orders\/([^/]+)\/fulfill$/, handler: async ({ params, body }) => control.fulfillOrder(decodeURIComponent(params[0]!), fulfillBody.parse((await body()) ?? {})) },
    { method: 'GET', pattern: /^\/oversells$/, handler: () => control.oversells() },
    { method: 'GET', pattern: /^\/faults$/, handler: () => control.faults() },
    {
      method: 'PUT',
      pattern: /^\/faults$/,
      handler: async ({ body }) => {
        const faults = faultsBody.parse(await body());
        if (faults.admin) control.setAdminFaults(faults.admin);
        if (faults.webhooks) control.setWebhookFaults(faults.webhooks);
        return control.faults();
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/faults$/,
      handler: () => {
        control.clearFaults();
        return control.faults();
      },
    },
    { method: 'GET', pattern: /^\/plan$/, handler: () => control.plan() },
    { method: 'PUT', pattern: /^\/plan$/, handler: async ({ body }) => control.setPlan(planBody.parse(await body()).plan) },
    { method: 'GET', pattern: /^\/bucket$/, handler: ({ query }) => control.bucket(optional(query, 'token')) },
    {
      method: 'PUT',
      pattern: /^\/bucket$/,
      handler: async ({ body }) => {
        const parsed = bucketBody.parse(await body());
        return control.setBucketAvailable(parsed.currentlyAvailable, parsed.token);
      },
    },
    { method: 'GET', pattern: /^\/requests$/, handler: () => control.requestLog() },
    {
      method: 'DELETE',
      pattern: /^\/requests$/,
      handler: () => {
        control.clearRequestLog();
        return { cleared: true };
      },
    },
    { method: 'GET', pattern: /^\/webhooks$/, handler: () => ({ subscriptions: control.webhookSubscriptions(), deliveries: control.webhookDeliveries() }) },
    {
      method: 'PUT',
      pattern: /^\/webhooks\/time-scale$/,
      handler: async ({ body }) => {
        const parsed = timeScaleBody.parse(await body());
        control.setWebhookTimeScale(parsed.timeScale);
        return parsed;
      },
    },
  ];

  return async (request, response, path, query) => {
    const send = (status: number, body: unknown, contentType = 'application/json; charset=utf-8') => {
      response.writeHead(status, { 'Content-Type': contentType });
      response.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const bulkMatch = /^\/bulk\/(\d+)\.jsonl$/.exec(path);
    if (bulkMatch && request.method === 'GET') {
      // Streamed a few hundred lines at a time at the reader's pace (bulk-operations.ts).
      if (!(await bulk().writeResult(Number(bulkMatch[1]), response))) send(404, { error: { code: 'NOT_FOUND', message: 'no such bulk operation result' } });
      return;
    }
    const candidates = routes.filter((route) => route.pattern.test(path));
    const route = candidates.find((candidate) => candidate.method === request.method);
    if (!route) {
      if (candidates.length > 0) send(405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${request.method} is not allowed on /_simulator${path}` } });
      else send(404, { error: { code: 'NOT_FOUND', message: `no control route /_simulator${path}` } });
      return;
    }
    const params = route.pattern.exec(path)!.slice(1);
    const body = async () => {
      const raw = await readBody(request);
      if (raw.length === 0) return undefined;
      try {
        return JSON.parse(raw.toString('utf8')) as unknown;
      } catch {
        throw new ValidationError('body is not valid JSON');
      }
    };
    try {
      const result = await route.handler({ params, query, body });
      const status = route.status ?? (route.method === 'POST' && path === '/orders' && (result as { placed?: boolean }).placed === false ? 409 : route.method === 'POST' && path === '/orders' ? 201 : 200);
      send(status, result);
    } catch (error) {
      if (error instanceof ZodError) {
        send(400, { error: { code: 'BAD_USER_INPUT', message: error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '), details: { issues: error.issues } } });
      } else if (isAppError(error)) {
        send(error.code === 'NOT_FOUND' ? 404 : error.code === 'BAD_USER_INPUT' ? 400 : 409, { error: { code: error.code, message: error.message, details: error.details } });
      } else {
        throw error;
      }
    }
  };
}
