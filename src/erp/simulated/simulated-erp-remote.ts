import { Agent, request as httpRequest } from 'node:http';
import { z } from 'zod';
import { SimulatedConnectionError, SimulatedConnectionResetError, type SimulatedAnswer } from './simulated-erp.js';

/**
 * The wire of the simulated ERP: what `SimulatedErpConnector` talks to. The in-process
 * `SimulatedErp` is one; `remoteSimulatedErpWire` is the same wire over HTTP to
 * `startSimulatedErpServer` (ERP_CONNECTOR=simulated with ERP_URL), shared by several gateways.
 */
export interface SimulatedErpWire {
  call(method: string, params?: Record<string, unknown>, signal?: AbortSignal): Promise<SimulatedAnswer>;
}

const wireErrorSchema = z.object({ wireError: z.string(), message: z.string().optional() });

/**
 * Over node:http with a keep-alive agent of its own (`connections` sockets kept open, default 32):
 * one order costs one or two round trips here, and fetch's stream machinery cost more CPU per call
 * than the simulated ERP's work (bench/order-drain.bench.ts `http`).
 */
export function remoteSimulatedErpWire(url: string, options: { connections?: number } = {}): SimulatedErpWire {
  const endpoint = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections ?? 32 });
  return {
    async call(method, params = {}, signal) {
      // node:http's own failures (refused connection, reset socket) carry their `code`, which the
      // call policy reads; a 599 is the ERP's simulated wire failure, thrown alike.
      const { status, text } = await post(endpoint, agent, JSON.stringify({ method, params }), signal);
      if (status === 200) return JSON.parse(text) as SimulatedAnswer;
      const failure = wireErrorSchema.safeParse(safeJson(text));
      if (failure.success && failure.data.wireError === 'ECONNREFUSED') throw new SimulatedConnectionError(method);
      if (failure.success && failure.data.wireError === 'ECONNRESET') throw new SimulatedConnectionResetError(method);
      throw new Error(`simulated ERP at ${endpoint.host} answered ${status} to ${method}: ${text.slice(0, 200)}`);
    },
  };
}

function post(endpoint: URL, agent: Agent, body: string, signal: AbortSignal | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      endpoint,
      { method: 'POST', agent, signal, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
