import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { SimulatedConnectionError, SimulatedConnectionResetError, type SimulatedErp } from './simulated-erp.js';

/**
 * The simulated ERP over HTTP, so several gateway processes share one ERP (the Black Friday
 * simulation, `simulate-erp`). One POST of `{ method, params }` is one `erp.call`: the answer is
 * the ERP's own envelope (`{ result }` or `{ error }`) with status 200. The ERP's wire failures
 * travel as status 599 with `{ wireError: 'ECONNREFUSED' | 'ECONNRESET' }`, which the remote wire
 * (simulated-erp-remote.ts) throws again as the same errors the in-process ERP throws, so the
 * connector classifies them alike (refused: nothing sent; reset: the write is in doubt).
 *
 * It stamps when each sales order was created (`saleCreatedAt`), which measures order-to-ERP
 * latency without asking the ERP.
 */
export interface SimulatedErpServer {
  readonly url: string;
  readonly erp: SimulatedErp;
  /** When `sale.create` first answered a sale for this reference (epoch ms). */
  saleCreatedAt(reference: string): number | undefined;
  close(): Promise<void>;
}

export const WIRE_ERROR_STATUS = 599;

const requestSchema = z.object({ method: z.string().min(1), params: z.record(z.string(), z.unknown()).default({}) });

export async function startSimulatedErpServer(options: { erp: SimulatedErp; port?: number; host?: string }): Promise<SimulatedErpServer> {
  const { erp } = options;
  const created = new Map<string, number>();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST') {
      send(response, 405, { error: { type: 'UserError', message: 'POST { method, params }' } });
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body: z.output<typeof requestSchema>;
    try {
      body = requestSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      send(response, 400, { error: { type: 'UserError', message: 'the body must be JSON { method, params }' } });
      return;
    }
    // A client that gave up (timeout) closes the connection: a slow answer stops waiting too.
    const gone = new AbortController();
    response.on('close', () => gone.abort(new Error('client closed the connection')));
    try {
      const answer = await erp.call(body.method, body.params, gone.signal);
      if (body.method === 'sale.create' && 'result' in answer) {
        // The batch form answers one `{ result }` or `{ error }` per sale.
        const sales = Array.isArray(answer.result) ? answer.result.map((entry) => (entry as { result?: unknown }).result) : [answer.result];
        const now = Date.now();
        for (const sale of sales) {
          const reference = (sale as { reference?: unknown } | undefined)?.reference;
          if (typeof reference === 'string' && !created.has(reference)) created.set(reference, now);
        }
      }
      send(response, 200, answer);
    } catch (error) {
      if (gone.signal.aborted) return;
      if (error instanceof SimulatedConnectionError) send(response, WIRE_ERROR_STATUS, { wireError: 'ECONNREFUSED', message: error.message });
      else if (error instanceof SimulatedConnectionResetError) send(response, WIRE_ERROR_STATUS, { wireError: 'ECONNRESET', message: error.message });
      else send(response, 500, { wireError: 'INTERNAL', message: error instanceof Error ? error.message : String(error) });
    }
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, { wireError: 'INTERNAL', message: String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    erp,
    saleCreatedAt: (reference) => created.get(reference),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  response.end(payload);
}
